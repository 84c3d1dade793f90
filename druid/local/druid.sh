#!/usr/bin/env bash
# A local Apache Druid for tests and development, assembled from Maven Central (no Docker).
#
# STATUS: work in progress, not used by `make test` yet. `assemble` gets the core closure of
# druid-services 33.0.0 (207 jars; sigar excluded), but the registry reachable from our machines
# answers "not found" for the druid-s3-extensions and druid-parquet-extensions jars of 33.0.0, and
# has no 34.0.0 at all; the next step is finding a version (or another route) that resolves.
#
#   druid/local/druid.sh assemble   # once: lib/ and extensions/ into $DRUID_HOME (outside the repo)
#   druid/local/druid.sh start      # ZooKeeper + coordinator-overlord, broker, historical, indexer
#   druid/local/druid.sh status     # /status/health of each service
#   druid/local/druid.sh stop
#
# Settings (environment): DRUID_HOME (default ~/.cache/sales-ingest/druid-$DRUID_VERSION),
# DRUID_S3_ENDPOINT, DRUID_S3_BUCKET, DRUID_S3_ACCESS_KEY, DRUID_S3_SECRET_KEY, AWS_REGION for deep
# storage on an S3 endpoint (moto's server in tests); without DRUID_S3_ENDPOINT deep storage is a
# local folder. Nothing downloaded goes into the repository.
set -euo pipefail

DRUID_VERSION=${DRUID_VERSION:-33.0.0}  # 34.0.0 is not on every Maven Central mirror yet
DRUID_HOME=${DRUID_HOME:-$HOME/.cache/sales-ingest/druid-$DRUID_VERSION}
EXTENSIONS=(druid-s3-extensions druid-parquet-extensions)
HERE=$(cd "$(dirname "$0")" && pwd)
ZK_PORT=${DRUID_ZK_PORT:-2181}
# service  port  heap
SERVICES=("coordinator 8081 512m" "broker 8082 512m" "historical 8083 512m" "indexer 8091 768m")
JAVA_17_FLAGS=(
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED
)

log() { printf 'druid.sh: %s\n' "$*" >&2; }

pom() {  # pom <groupId> <artifactId>: a throwaway project depending on one artifact
  cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.assembly</groupId><artifactId>$2-closure</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>$1</groupId><artifactId>$2</artifactId><version>$DRUID_VERSION</version>
      <exclusions>
        <!-- Only published outside Maven Central; used for optional system metrics. -->
        <exclusion><groupId>org.hyperic</groupId><artifactId>sigar</artifactId></exclusion>
      </exclusions>
    </dependency>
  </dependencies>
</project>
EOF
}

copy_closure() {  # copy_closure <groupId> <artifactId> <target dir>
  local work
  work=$(mktemp -d)
  pom "$1" "$2" > "$work/pom.xml"
  mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$3" -DincludeScope=runtime -DexcludeTypes=pom
  rm -rf "$work"
}

assemble() {
  command -v mvn >/dev/null || { log "Maven is needed: apt-get install maven"; exit 2; }
  if [ -f "$DRUID_HOME/.assembled" ]; then log "already assembled in $DRUID_HOME"; return; fi
  mkdir -p "$DRUID_HOME"
  log "assembling Druid $DRUID_VERSION in $DRUID_HOME"
  copy_closure org.apache.druid druid-services "$DRUID_HOME/lib"
  for extension in "${EXTENSIONS[@]}"; do
    local dir="$DRUID_HOME/extensions/$extension"
    copy_closure org.apache.druid.extensions "$extension" "$dir"
    # Jars core already provides would be loaded twice (class loader conflicts): drop them.
    for jar in "$dir"/*.jar; do
      [ -e "$DRUID_HOME/lib/$(basename "$jar")" ] && rm -f "$jar"
    done
  done
  touch "$DRUID_HOME/.assembled"
  log "assembled: $(ls "$DRUID_HOME/lib" | wc -l) core jars, extensions: ${EXTENSIONS[*]}"
}

write_conf() {
  local conf="$DRUID_HOME/conf" var="$DRUID_HOME/var"
  mkdir -p "$conf/_common" "$var"
  local storage
  if [ -n "${DRUID_S3_ENDPOINT:-}" ]; then
    storage="druid.storage.type=s3
druid.storage.bucket=${DRUID_S3_BUCKET:?DRUID_S3_BUCKET is needed with DRUID_S3_ENDPOINT}
druid.storage.baseKey=druid/segments
druid.storage.disableAcl=true
druid.s3.endpoint.url=$DRUID_S3_ENDPOINT
druid.s3.endpoint.signingRegion=${AWS_REGION:-us-east-1}
druid.s3.enablePathStyleAccess=true
druid.s3.protocol=${DRUID_S3_ENDPOINT%%://*}
druid.s3.accessKey=${DRUID_S3_ACCESS_KEY:-testing}
druid.s3.secretKey=${DRUID_S3_SECRET_KEY:-testing}"
  else
    storage="druid.storage.type=local
druid.storage.storageDirectory=$var/segments"
  fi
  cat > "$conf/_common/common.runtime.properties" <<EOF
druid.extensions.directory=$DRUID_HOME/extensions
druid.extensions.loadList=["druid-s3-extensions", "druid-parquet-extensions"]
druid.host=127.0.0.1
druid.zk.service.host=127.0.0.1:$ZK_PORT
druid.zk.paths.base=/druid
druid.metadata.storage.type=derby
druid.metadata.storage.connector.connectURI=jdbc:derby://127.0.0.1:1527/$var/metadata.db;create=true
druid.metadata.storage.connector.host=127.0.0.1
druid.metadata.storage.connector.port=1527
$storage
druid.indexer.logs.type=file
druid.indexer.logs.directory=$var/task-logs
druid.emitter=noop
druid.server.hiddenProperties=["druid.s3.accessKey","druid.s3.secretKey","druid.metadata.storage.connector.password"]
druid.processing.buffer.sizeBytes=50MiB
druid.processing.numMergeBuffers=2
druid.processing.numThreads=1
druid.sql.enable=true
EOF
  local name port heap
  for entry in "${SERVICES[@]}"; do
    read -r name port heap <<<"$entry"
    mkdir -p "$conf/$name"
    {
      echo "druid.service=druid/$name"
      echo "druid.plaintextPort=$port"
      case $name in
        coordinator) echo "druid.coordinator.asOverlord.enabled=true"
                     echo "druid.coordinator.asOverlord.overlordService=druid/overlord"
                     echo "druid.coordinator.startDelay=PT5S"
                     echo "druid.coordinator.period=PT5S"
                     echo "druid.indexer.queue.startDelay=PT1S"
                     echo "druid.indexer.storage.type=metadata" ;;
        historical)  echo "druid.segmentCache.locations=[{\"path\":\"$var/segment-cache\",\"maxSize\":\"10GiB\"}]"
                     echo "druid.server.maxSize=10GiB" ;;
        indexer)     echo "druid.worker.capacity=2"
                     echo "druid.indexer.task.baseTaskDir=$var/tasks"
                     echo "druid.server.http.numThreads=16" ;;
        broker)      echo "druid.broker.http.numConnections=5" ;;
      esac
    } > "$conf/$name/runtime.properties"
  done
}

start_zookeeper() {
  [ -f /usr/share/java/zookeeper.jar ] || { log "ZooKeeper is needed: apt-get install zookeeper"; exit 2; }
  mkdir -p "$DRUID_HOME/zk"
  cat > "$DRUID_HOME/zk/zoo.cfg" <<EOF
tickTime=2000
dataDir=$DRUID_HOME/zk/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
EOF
  nohup java -Xmx256m -cp "/usr/share/java/zookeeper.jar" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$DRUID_HOME/zk/zoo.cfg" \
    > "$DRUID_HOME/zk/zookeeper.log" 2>&1 &
  echo $! > "$DRUID_HOME/zk/pid"
}

start() {
  [ -f "$DRUID_HOME/.assembled" ] || assemble
  write_conf
  start_zookeeper
  local name port heap
  for entry in "${SERVICES[@]}"; do
    read -r name port heap <<<"$entry"
    mkdir -p "$DRUID_HOME/log"
    nohup java -server "-Xms$heap" "-Xmx$heap" -XX:MaxDirectMemorySize=256m \
      -Duser.timezone=UTC -Dfile.encoding=UTF-8 -Djava.io.tmpdir="$DRUID_HOME/var/tmp" \
      "-Daws.region=${AWS_REGION:-us-east-1}" "${JAVA_17_FLAGS[@]}" \
      -cp "$DRUID_HOME/conf/_common:$DRUID_HOME/conf/$name:$DRUID_HOME/lib/*" \
      org.apache.druid.cli.Main server "$name" > "$DRUID_HOME/log/$name.log" 2>&1 &
    echo $! > "$DRUID_HOME/log/$name.pid"
  done
  mkdir -p "$DRUID_HOME/var/tmp"
  wait_healthy "${DRUID_START_TIMEOUT:-300}"
}

healthy() { curl -fsS "http://127.0.0.1:$1/status/health" 2>/dev/null | grep -q true; }

wait_healthy() {
  local deadline=$((SECONDS + $1)) name port heap
  for entry in "${SERVICES[@]}"; do
    read -r name port heap <<<"$entry"
    until healthy "$port"; do
      if [ $SECONDS -ge $deadline ]; then
        log "$name is not healthy after $1 s; last log lines:"
        tail -n 30 "$DRUID_HOME/log/$name.log" >&2
        exit 1
      fi
      sleep 2
    done
    log "$name healthy on port $port"
  done
}

status() {
  local name port heap
  for entry in "${SERVICES[@]}"; do
    read -r name port heap <<<"$entry"
    if healthy "$port"; then echo "$name: healthy ($port)"; else echo "$name: down ($port)"; fi
  done
}

stop() {
  for pidfile in "$DRUID_HOME"/log/*.pid "$DRUID_HOME/zk/pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  assemble) assemble ;;
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 assemble|start|status|stop" >&2; exit 2 ;;
esac

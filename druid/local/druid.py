#!/usr/bin/env python3
"""A local Apache Druid for development and tests, assembled from Maven Central (no Docker).

    python3 druid/local/druid.py assemble      # once: core Druid's jars into $DRUID_HOME/lib
    python3 druid/local/druid.py start         # ZooKeeper, coordinator-overlord, broker,
                                               # historical, indexer, router; prints DRUID_URL=...
    python3 druid/local/druid.py status        # one line per service; exit 3 unless all healthy
    python3 druid/local/druid.py stop

Core Druid only: no extensions (none of them resolve from our registry), so deep storage is a
local folder, metadata is Derby (a network server inside the coordinator) and input comes over
`http` (presigned URLs), `inline` or `local`. Everything a run writes (configuration, metadata,
segments, task directories, ZooKeeper data, logs, pids) lives under the var directory
(--var, default var/druid) and survives a stop/start. The jars are cached outside the repository,
in $DRUID_HOME (default ~/.cache/sales-ingest/druid-<version>). `--port-offset N` adds N to every
port, so a second Druid (the tests') can run beside a developer's.

Standard library only, so it runs without the project's virtual environment.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

VERSION = "33.0.0"
MARKER = ".assembled"
# The dependency plugin is pinned so an assembly does not depend on what Maven picks as "latest".
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
MIN_JARS = 150  # druid-services 33.0.0 resolves to ~207 jars; fewer means a broken download
LOG_TAIL_LINES = 40
STOP_GRACE_SECONDS = 30.0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_HEALTHY = 3
EXIT_PORT_BUSY = 4  # tests/druid_local.py retries with another port offset on this one

JAVA_17_FLAGS = (
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
)


@dataclass(frozen=True)
class Service:
    name: str
    base_port: int
    heap: str  # -Xmx; -Xms is half of it
    direct_memory: str | None = None  # -XX:MaxDirectMemorySize, for the query-processing services


ZOOKEEPER = Service("zookeeper", 2181, "128m")
COORDINATOR = Service("coordinator", 8081, "512m")  # also the overlord and Derby's server
BROKER = Service("broker", 8082, "512m", "256m")
HISTORICAL = Service("historical", 8083, "512m", "320m")  # two processing threads: see below
# The indexer also merges a task's intermediate persists into segments with direct memory: with
# 256m (200 MiB of it taken by the query buffers below) a rolled-up 5M-row load failed its merge
# ("Cannot reserve 65536 bytes of direct buffer memory"); 512m leaves it 300 MiB.
INDEXER = Service("indexer", 8091, "512m", "512m")
ROUTER = Service("router", 8888, "256m")
SERVICES = (ZOOKEEPER, COORDINATOR, BROKER, HISTORICAL, INDEXER, ROUTER)
DERBY_BASE_PORT = 1527
# Stopped in this order; the coordinator holds the metadata store, ZooKeeper goes last.
STOP_WAVES = ((ROUTER, BROKER, HISTORICAL, INDEXER), (COORDINATOR,), (ZOOKEEPER,))


def log(message: str) -> None:
    print(f"druid: {message}", file=sys.stderr, flush=True)


class DruidError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# --- assembly --------------------------------------------------------------------------------


def druid_home() -> Path:
    configured = os.environ.get("DRUID_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "sales-ingest" / f"druid-{VERSION}"


def closure_pom() -> str:
    """A throwaway project whose runtime dependencies are exactly core Druid's server closure."""
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.assembly</groupId>
  <artifactId>druid-services-closure</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.druid</groupId>
      <artifactId>druid-services</artifactId>
      <version>{VERSION}</version>
      <exclusions>
        <!-- Published outside Maven Central only; used for optional system metrics. -->
        <exclusion><groupId>org.hyperic</groupId><artifactId>sigar</artifactId></exclusion>
      </exclusions>
    </dependency>
  </dependencies>
</project>
"""


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def assembled(home: Path) -> bool:
    return (home / MARKER).is_file() and (home / "lib").is_dir()


def assemble(home: Path) -> Path:
    """Copy druid-services' runtime closure into home/lib once; returns the lib directory.

    Downloads into a temporary directory beside lib/ and renames it into place, then writes the
    marker: an interrupted run leaves no lib/ that looks complete.
    """
    lib = home / "lib"
    if assembled(home):
        return lib
    with file_lock(home / ".assemble.lock"):
        if assembled(home):  # another process finished while we waited
            return lib
        if shutil.which("mvn") is None or shutil.which("java") is None:
            raise DruidError(
                "Java and Maven are needed to assemble Druid: "
                "apt-get install default-jre-headless maven"
            )
        log(f"assembling core Druid {VERSION} from Maven Central into {home} (about a minute)")
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix=".assembling-", dir=home))
        try:
            (work / "pom.xml").write_text(closure_pom())
            jars = work / "lib"
            result = subprocess.run(
                [
                    "mvn",
                    "-B",
                    "-q",
                    "-f",
                    str(work / "pom.xml"),
                    f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                    f"-DoutputDirectory={jars}",
                    "-DincludeScope=runtime",
                    "-DexcludeTypes=pom",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                tail = "\n".join(result.stdout.splitlines()[-LOG_TAIL_LINES:])
                raise DruidError(f"Maven could not assemble Druid {VERSION}:\n{tail}")
            count = len(list(jars.glob("*.jar")))
            if count < MIN_JARS or not (jars / f"druid-services-{VERSION}.jar").is_file():
                raise DruidError(f"assembly looks incomplete: {count} jars in {jars}")
            if lib.exists():  # left by an older, unmarked layout
                shutil.rmtree(lib)
            jars.rename(lib)
            marker = work / MARKER
            marker.write_text(json.dumps({"version": VERSION, "jars": count}) + "\n")
            marker.replace(home / MARKER)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log(f"assembled {count} jars in {time.monotonic() - started:.0f} s")
    return lib


# --- layout and configuration ----------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    var: Path
    port_offset: int

    @property
    def conf(self) -> Path:
        return self.var / "conf"

    @property
    def pids(self) -> Path:
        return self.var / "pids"

    @property
    def logs(self) -> Path:
        return self.var / "log"

    @property
    def state_file(self) -> Path:
        return self.var / "druid.json"

    def port(self, service: Service) -> int:
        return service.base_port + self.port_offset

    @property
    def derby_port(self) -> int:
        return DERBY_BASE_PORT + self.port_offset

    def all_ports(self) -> dict[str, int]:
        ports = {service.name: self.port(service) for service in SERVICES}
        ports["derby (in the coordinator)"] = self.derby_port
        return ports

    def pid_file(self, service: Service) -> Path:
        return self.pids / f"{service.name}.pid"

    def log_file(self, service: Service) -> Path:
        return self.logs / f"{service.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port(ROUTER)}"


def load_layout(var: Path) -> Layout:
    """The layout of an instance started before (its port offset is recorded under var)."""
    var = var.resolve()
    offset = 0
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        offset = int(json.loads(var.joinpath("druid.json").read_text())["port_offset"])
    return Layout(var, offset)


def properties(values: dict[str, object]) -> str:
    lines = []
    for key, value in values.items():
        text = json.dumps(value) if isinstance(value, list | dict) else str(value)
        lines.append(f"{key}={text}")
    return "\n".join(lines) + "\n"


LOG4J2_XML = """<?xml version="1.0" encoding="UTF-8" ?>
<Configuration status="WARN">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{ISO8601} %p [%t] %c - %m%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="Console"/></Root>
    <Logger name="org.apache.druid.server.coordinator" level="warn" additivity="false">
      <AppenderRef ref="Console"/>
    </Logger>
    <Logger name="org.apache.zookeeper" level="warn" additivity="false">
      <AppenderRef ref="Console"/>
    </Logger>
    <Logger name="org.apache.curator" level="warn" additivity="false">
      <AppenderRef ref="Console"/>
    </Logger>
  </Loggers>
</Configuration>
"""


def common_properties(layout: Layout) -> dict[str, object]:
    var = layout.var
    return {
        "druid.extensions.loadList": [],
        "druid.host": "127.0.0.1",
        "druid.bindOnHost": "true",
        "druid.enablePlaintextPort": "true",
        "druid.enableTlsPort": "false",
        "druid.startup.logging.logProperties": "false",
        "druid.zk.service.host": f"127.0.0.1:{layout.port(ZOOKEEPER)}",
        "druid.zk.paths.base": "/druid",
        "druid.metadata.storage.type": "derby",
        "druid.metadata.storage.connector.connectURI": (
            f"jdbc:derby://127.0.0.1:{layout.derby_port}/{var / 'metadata' / 'druid.db'};create=true"
        ),
        "druid.metadata.storage.connector.host": "127.0.0.1",
        "druid.metadata.storage.connector.port": layout.derby_port,
        "druid.storage.type": "local",
        "druid.storage.storageDirectory": str(var / "deep-storage"),
        "druid.indexer.logs.type": "file",
        "druid.indexer.logs.directory": str(var / "task-logs"),
        "druid.emitter": "noop",
        "druid.monitoring.monitors": [],
        "druid.sql.enable": "true",
        # SQL-compatible null handling; Druid 33 refuses to start with the legacy mode (true).
        "druid.generic.useDefaultValueForNull": "false",
        "druid.indexing.doubleStorage": "double",
        # The `http` input source may read from 127.0.0.1: Druid 33 checks only the scheme
        # (and request headers), it has no deny-list of loopback or private addresses.
        "druid.ingestion.http.allowedProtocols": ["http", "https"],
        "druid.lookup.enableLookupSyncOnStartup": "false",
        # Jetty otherwise waits up to 30 s on open long-polls (the overlord's and coordinator's
        # syncs with the indexer) before it stops.
        "druid.server.http.gracefulShutdownTimeout": "PT2S",
        "druid.server.hiddenProperties": ["druid.metadata.storage.connector.password"],
    }


# Query processing sized for 2 cores; direct memory needed: (threads + merge buffers + 1) * buffer
# = 200 MiB, within -XX:MaxDirectMemorySize (256m; 512m for the indexer, which merges segments).
QUERY_PROCESSING: dict[str, object] = {
    "druid.processing.numThreads": 1,
    "druid.processing.numMergeBuffers": 2,
    "druid.processing.buffer.sizeBytes": "50MiB",
}


def service_properties(layout: Layout, service: Service) -> dict[str, object]:
    var = layout.var
    values: dict[str, object] = {
        "druid.service": f"druid/{service.name}",
        "druid.plaintextPort": layout.port(service),
    }
    if service.direct_memory:
        values.update(QUERY_PROCESSING)
    if service is COORDINATOR:
        values.update(
            {
                "druid.coordinator.asOverlord.enabled": "true",
                "druid.coordinator.asOverlord.overlordService": "druid/overlord",
                "druid.coordinator.startDelay": "PT5S",
                "druid.coordinator.period": "PT5S",
                "druid.manager.segments.pollDuration": "PT5S",
                "druid.indexer.runner.type": "httpRemote",
                "druid.indexer.storage.type": "metadata",
                # Default PT1M: tasks submitted in the first minute would wait for it.
                "druid.indexer.queue.startDelay": "PT0S",
                "druid.server.http.numThreads": 16,
                # How long the coordinator's load request to a historical may wait for news
                # (default PT5M). The historical answers once one of the batch's loads completes,
                # but a load that completes between its status check and its waiting left the
                # request unanswered: no segment was loaded for five minutes (an official CI run,
                # 2026-12-06: a task's segments stuck at 63% until our 180 s load timeout). The
                # request is sent again at once when it ends, so a short wait costs one request.
                "druid.coordinator.loadqueuepeon.http.hostTimeout": "PT10S",
            }
        )
    elif service is BROKER:
        values.update(
            {
                "druid.broker.http.numConnections": 5,
                # SQL sees new columns of an existing datasource after at most this long
                # (default PT1M; new datasources are picked up at once anyway).
                "druid.sql.planner.metadataRefreshPeriod": "PT5S",
                "druid.server.http.numThreads": 12,
                "druid.broker.cache.useCache": "false",
                "druid.broker.cache.populateCache": "false",
            }
        )
    elif service is HISTORICAL:
        values.update(
            {
                "druid.server.http.numThreads": 12,
                # Both cores for a query's segments: measured at 5M rows, a raw-row query took
                # 24-26 ms against 35.5 ms with one thread (bench/RESULTS.md, issue 28); a query
                # is short, so it rarely meets an indexing task there. Direct memory: (2 + 2 + 1)
                # buffers of 50 MiB = 250 MiB, within the historical's 320m.
                "druid.processing.numThreads": 2,
                "druid.segmentCache.locations": [
                    {"path": str(var / "segment-cache"), "maxSize": "2GiB"}
                ],
                "druid.server.maxSize": "2GiB",
                "druid.historical.cache.useCache": "false",
                "druid.historical.cache.populateCache": "false",
            }
        )
    elif service is INDEXER:
        values.update(
            {
                "druid.worker.capacity": 2,
                "druid.worker.ip": "127.0.0.1",
                "druid.indexer.task.baseDir": str(var / "tasks"),
                "druid.indexer.task.baseTaskDir": str(var / "tasks"),
                # Tasks run as threads of the indexer and are reached on its own port (chat
                # handlers, shuffle): no peon port range to keep apart between instances.
                "druid.server.http.numThreads": 16,
            }
        )
    elif service is ROUTER:
        values.update(
            {
                "druid.router.managementProxy.enabled": "true",
                "druid.router.defaultBrokerServiceName": "druid/broker",
                "druid.router.coordinatorServiceName": "druid/coordinator",
                "druid.router.http.numConnections": 10,
                "druid.router.http.readTimeout": "PT5M",
                "druid.server.http.numThreads": 12,
            }
        )
    return values


def zoo_cfg(layout: Layout) -> str:
    return properties(
        {
            "tickTime": 2000,
            "dataDir": str(layout.var / "zookeeper"),
            "clientPort": layout.port(ZOOKEEPER),
            "clientPortAddress": "127.0.0.1",
            "admin.enableServer": "false",  # its Jetty would take port 8080
            "4lw.commands.whitelist": "ruok,srvr",
            "maxClientCnxns": 0,
            "autopurge.snapRetainCount": 3,
            "autopurge.purgeInterval": 1,
        }
    )


def write_configuration(layout: Layout) -> None:
    var = layout.var
    directories = [
        layout.conf / "_common",
        layout.pids,
        layout.logs,
        var / "metadata",
        var / "deep-storage",
        var / "task-logs",
        var / "tasks",
        var / "segment-cache",
        var / "zookeeper",
    ]
    directories += [layout.conf / service.name for service in SERVICES]
    directories += [var / "tmp" / service.name for service in SERVICES]
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    common = layout.conf / "_common"
    common.joinpath("common.runtime.properties").write_text(properties(common_properties(layout)))
    common.joinpath("log4j2.xml").write_text(LOG4J2_XML)
    layout.conf.joinpath("zookeeper", "zoo.cfg").write_text(zoo_cfg(layout))
    for service in SERVICES:
        if service is not ZOOKEEPER:
            layout.conf.joinpath(service.name, "runtime.properties").write_text(
                properties(service_properties(layout, service))
            )
    layout.state_file.write_text(
        json.dumps({"version": VERSION, "port_offset": layout.port_offset}) + "\n"
    )


def java_command(layout: Layout, lib: Path, service: Service) -> list[str]:
    heap = int(service.heap.rstrip("m"))
    flags = [
        "java",
        "-server",
        f"-Xms{heap // 2}m",
        f"-Xmx{heap}m",
        "-XX:+UseSerialGC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Duser.timezone=UTC",
        "-Dfile.encoding=UTF-8",
        f"-Djava.io.tmpdir={layout.var / 'tmp' / service.name}",
        "-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager",
        *JAVA_17_FLAGS,
    ]
    if service is COORDINATOR:  # Derby's network server runs inside it
        flags.append(f"-Dderby.stream.error.file={layout.logs / 'derby.log'}")
    if service.direct_memory:
        flags.append(f"-XX:MaxDirectMemorySize={service.direct_memory}")
    classpath = [str(layout.conf / "_common"), str(layout.conf / service.name), f"{lib}/*"]
    flags += ["-cp", os.pathsep.join(classpath)]
    if service is ZOOKEEPER:
        return [
            *flags,
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(layout.conf / "zookeeper" / "zoo.cfg"),
        ]
    return [*flags, "org.apache.druid.cli.Main", "server", service.name]


# --- processes -------------------------------------------------------------------------------


def process_state(pid: int) -> str | None:
    """The /proc state letter of pid, or None when there is no such process."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def is_alive(pid: int) -> bool:
    state = process_state(pid)
    return state is not None and state not in ("Z", "X")


def owned_pid(layout: Layout, service: Service) -> int | None:
    """The recorded pid of service if that process is alive and is this instance's java."""
    try:
        pid = int(layout.pid_file(service).read_text().strip())
    except (OSError, ValueError):
        return None
    if not is_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    # Never signal a process that merely reuses a stale pid: it must run this var's configuration.
    own_conf = str(layout.conf / service.name).encode()
    if not any(own_conf in argument for argument in cmdline):
        return None
    return pid


def launch(layout: Layout, lib: Path, service: Service) -> None:
    log_file = layout.log_file(service)
    with log_file.open("ab") as output:
        output.write(
            f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {service.name}\n".encode()
        )
        output.flush()
        # java itself is the child (no shell in between), so the recorded pid is the server's.
        process = subprocess.Popen(
            java_command(layout, lib, service),
            cwd=layout.var,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this script, untouched by a terminal's Ctrl-C
        )
    layout.pid_file(service).write_text(f"{process.pid}\n")
    # Until the child has exec'd java, /proc shows this script's command line and owned_pid()
    # would take the service for dead: wait for the exec (or the exit) before going on.
    deadline = time.monotonic() + 10
    while owned_pid(layout, service) is None and process.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)


def stop_services(layout: Layout) -> bool:
    """Stop every service of this instance; True when nothing of it runs any more."""
    clean = True
    for wave in STOP_WAVES:
        running = {service: owned_pid(layout, service) for service in wave}
        for service, pid in running.items():
            if pid is not None:
                log(f"stopping {service.name} (pid {pid})")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        pending = {service: pid for service, pid in running.items() if pid is not None}
        while pending and time.monotonic() < deadline:
            pending = {service: pid for service, pid in pending.items() if is_alive(pid)}
            if pending:
                time.sleep(0.2)
        for service, pid in pending.items():
            log(
                f"{service.name} (pid {pid}) ignored SIGTERM for {STOP_GRACE_SECONDS:.0f} s: SIGKILL"
            )
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for service, pid in pending.items():
            kill_deadline = time.monotonic() + 10
            while is_alive(pid) and time.monotonic() < kill_deadline:
                time.sleep(0.1)
            if is_alive(pid):
                log(f"{service.name} (pid {pid}) is still running after SIGKILL")
                clean = False
        for service in wave:
            if owned_pid(layout, service) is None:
                layout.pid_file(service).unlink(missing_ok=True)
    return clean


# --- health ----------------------------------------------------------------------------------

# Straight to 127.0.0.1, whatever http_proxy says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_json(
    url: str, body: object | None = None, timeout: float = 3.0
) -> tuple[int, object | None]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (OSError, ValueError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def zookeeper_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.sendall(b"ruok")
            connection.settimeout(2)
            return connection.recv(16) == b"imok"
    except OSError:
        return False


def service_healthy(layout: Layout, service: Service) -> bool:
    port = layout.port(service)
    if service is ZOOKEEPER:
        return zookeeper_ok(port)
    return http_json(f"http://127.0.0.1:{port}/status/health") == (200, True)


def sql_answers(base: str) -> bool:
    status, rows = http_json(f"{base}/druid/v2/sql", {"query": "SELECT 1", "resultFormat": "array"})
    return status == 200 and rows == [[1]]


def one_worker(base: str) -> bool:
    status, workers = http_json(f"{base}/druid/indexer/v1/workers")
    return status == 200 and isinstance(workers, list) and len(workers) == 1


def ready_check(layout: Layout, service: Service) -> Callable[[], bool]:
    """Ready means more than /status/health: what a caller needs to submit a task at once."""
    base = f"http://127.0.0.1:{layout.port(service)}"

    def ready() -> bool:
        if not service_healthy(layout, service):
            return False
        if service is COORDINATOR:  # leader as coordinator and as overlord
            leader = (200, {"leader": True})
            return (
                http_json(f"{base}/druid/coordinator/v1/isLeader") == leader
                and http_json(f"{base}/druid/indexer/v1/isLeader") == leader
            )
        if service is HISTORICAL:
            return http_json(f"{base}/druid/historical/v1/readiness")[0] == 200
        if service is BROKER:
            return http_json(f"{base}/druid/broker/v1/readiness")[0] == 200 and sql_answers(base)
        if service is INDEXER:  # registered with the overlord (asked on the coordinator)
            return one_worker(f"http://127.0.0.1:{layout.port(COORDINATOR)}")
        if service is ROUTER:  # it found the broker and the overlord
            return sql_answers(base) and one_worker(base)
        return True

    return ready


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the Java servers bind: a TIME_WAIT left by the last run does not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# --- commands --------------------------------------------------------------------------------


def wait_ready(layout: Layout, started: float, timeout: float) -> None:
    """Wait for every service to be ready; raise naming the first that is not."""
    checks = {service: ready_check(layout, service) for service in SERVICES}
    pending = list(SERVICES)
    deadline = time.monotonic() + timeout
    while pending:
        for service in list(pending):
            if owned_pid(layout, service) is None:
                raise ServiceFailed(service, f"{service.name} exited during start")
            if checks[service]():
                pending.remove(service)
                elapsed = time.monotonic() - started
                log(f"{service.name:<11} ready on :{layout.port(service)} after {elapsed:5.1f} s")
        if pending and time.monotonic() > deadline:
            names = ", ".join(service.name for service in pending)
            raise ServiceFailed(pending[0], f"{names} not ready after {timeout:.0f} s")
        if pending:
            time.sleep(0.5)


class ServiceFailed(DruidError):
    def __init__(self, service: Service, message: str) -> None:
        super().__init__(message)
        self.service = service

    def report(self, layout: Layout) -> None:
        log_file = layout.log_file(self.service)
        log(f"{self}; last {LOG_TAIL_LINES} lines of {log_file}:")
        print(tail(log_file), file=sys.stderr, flush=True)


def start(var: Path, port_offset: int, timeout: float) -> str:
    layout = Layout(var.resolve(), port_offset)
    layout.var.mkdir(parents=True, exist_ok=True)
    with file_lock(layout.var / ".lock"):
        running = {service: owned_pid(layout, service) for service in SERVICES}
        if any(pid is not None for pid in running.values()):
            recorded = load_layout(layout.var)
            if recorded.port_offset != port_offset:
                raise DruidError(
                    f"Druid already runs from {layout.var} with port offset "
                    f"{recorded.port_offset}, not {port_offset}: stop it first"
                )
            if all(pid is not None for pid in running.values()):
                log(f"already running from {layout.var}; checking it is ready")
                try:
                    wait_ready(layout, time.monotonic(), timeout)
                except ServiceFailed as failure:
                    failure.report(layout)
                    raise
                return layout.url
            log("only part of Druid is running: stopping it to start afresh")
            stop_services(layout)
        for name, port in layout.all_ports().items():
            if not port_free(port):
                raise DruidError(
                    f"port {port} ({name}) is busy: another Druid or program listens there; "
                    "stop it, or pass --port-offset N to add N to every port",
                    EXIT_PORT_BUSY,
                )
        if shutil.which("java") is None:
            raise DruidError("Java 17 is needed: apt-get install default-jre-headless")
        lib = assemble(druid_home())
        write_configuration(layout)
        started = time.monotonic()
        log(f"starting Druid {VERSION} from {layout.var} (logs in {layout.logs})")
        try:
            launch(layout, lib, ZOOKEEPER)
            deadline = time.monotonic() + timeout
            while not zookeeper_ok(layout.port(ZOOKEEPER)):
                if owned_pid(layout, ZOOKEEPER) is None:
                    raise ServiceFailed(ZOOKEEPER, "zookeeper exited during start")
                if time.monotonic() > deadline:
                    raise ServiceFailed(ZOOKEEPER, "zookeeper did not answer")
                time.sleep(0.2)
            # The coordinator first: Derby's network server runs inside it.
            for service in (COORDINATOR, HISTORICAL, INDEXER, BROKER, ROUTER):
                launch(layout, lib, service)
            remaining = timeout - (time.monotonic() - started)
            wait_ready(layout, started, remaining)
        except (ServiceFailed, KeyboardInterrupt) as failure:
            if isinstance(failure, ServiceFailed):
                failure.report(layout)
            log("stopping what was started")
            stop_services(layout)
            raise
        log(f"Druid ready after {time.monotonic() - started:.1f} s: {layout.url}")
        return layout.url


def status(var: Path) -> bool:
    layout = load_layout(var)
    all_healthy = True
    for service in SERVICES:
        pid = owned_pid(layout, service)
        healthy = pid is not None and service_healthy(layout, service)
        all_healthy = all_healthy and healthy
        state = "healthy" if healthy else "down"
        print(f"{service.name:<11} {layout.port(service):>5}  {pid or '-':>7}  {state}")
    return all_healthy


def stop(var: Path) -> bool:
    layout = load_layout(var)
    if not layout.var.is_dir():
        return True
    with file_lock(layout.var / ".lock"):
        if all(owned_pid(layout, service) is None for service in SERVICES):
            for service in SERVICES:
                layout.pid_file(service).unlink(missing_ok=True)
            log(f"nothing runs from {layout.var}")
            return True
        return stop_services(layout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("assemble", help="download core Druid's jars once (needs Maven)")
    start_parser = commands.add_parser("start", help="start every service; print DRUID_URL=")
    status_parser = commands.add_parser("status", help="each service's port, pid and health")
    stop_parser = commands.add_parser("stop", help="stop every service of --var")
    for sub in (start_parser, status_parser, stop_parser):
        sub.add_argument(
            "--var", type=Path, default=Path("var/druid"), help="data directory (var/druid)"
        )
    start_parser.add_argument(
        "--port-offset", type=int, default=0, help="added to every port (default 0)"
    )
    start_parser.add_argument(
        "--timeout", type=float, default=240.0, help="seconds to wait for readiness (240)"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "assemble":
            print(assemble(druid_home()))
            return 0
        if args.command == "start":
            highest = max(service.base_port for service in SERVICES) + args.port_offset
            if args.port_offset < 0 or highest > 65535:
                parser.error(f"--port-offset must keep ports within 1..65535 (highest {highest})")
            url = start(args.var, args.port_offset, args.timeout)
            print(f"DRUID_URL={url}", flush=True)
            # Queries straight to the broker: one proxy hop fewer than the router.
            print(f"DRUID_BROKER_URL=http://127.0.0.1:{BROKER.base_port + args.port_offset}")
            return 0
        if args.command == "status":
            return 0 if status(args.var) else EXIT_NOT_HEALTHY
        if args.command == "stop":
            return 0 if stop(args.var) else EXIT_FAILED
    except DruidError as error:
        log(str(error))
        return error.code
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

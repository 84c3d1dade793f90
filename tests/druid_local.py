"""A real Apache Druid for the tests: druid/local/druid.py started on ports of its own.

`start_druid(var_dir)` picks a port offset whose ports are all free (so it runs beside a
developer's Druid on the default ports), starts every service and waits until a task can be
submitted. The first run assembles Druid's jars from Maven Central into ~/.cache (about a minute);
a start takes 40-60 s on 2 cores. When Java or Maven is missing, or Druid does not start, the tests
that need it are skipped (failed under REQUIRE_SERVICES=1) with what to install.

Set DRUID_TEST_URL=http://127.0.0.1:8888 to use an already running Druid instead (`make druid`):
nothing is started or stopped then.

Under pytest-xdist (`make test` runs two workers) the workers share one Druid: `shared_druid`
starts it for the first worker that needs it and stops it when the last one is done (two
Druids on 2 cores would each start slower, and hold memory for no gain).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.services import unavailable

SCRIPT = Path(__file__).resolve().parent.parent / "druid" / "local" / "druid.py"
# druid.py's default ports: ZooKeeper, Derby, coordinator, broker, historical, indexer, router.
BASE_PORTS = (2181, 1527, 8081, 8082, 8083, 8091, 8888)
# Offsets below Linux's ephemeral range (32768-) first, so outgoing connections rarely hold them.
PORT_OFFSETS = tuple(range(20000, 32001, 1000))
START_TIMEOUT_SECONDS = 400.0
STOP_TIMEOUT_SECONDS = 120.0
EXIT_PORT_BUSY = 4  # druid.py's exit code when a port is taken (another run got there first)
URL_PREFIX = "DRUID_URL="
BROKER_PREFIX = "DRUID_BROKER_URL="


@dataclass
class LocalDruid:
    url: str  # the router: every API (tasks, coordinator, SQL) goes through it
    var_dir: Path | None  # None for an outside Druid (DRUID_TEST_URL)
    port_offset: int | None
    broker_url: str | None = None  # queries straight to the broker (DRUID_BROKER_URL)

    def stop(self) -> None:
        if self.var_dir is None:
            return  # not ours to stop
        _run("stop", "--var", str(self.var_dir), timeout=STOP_TIMEOUT_SECONDS)


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ports_free(offset: int) -> bool:
    for port in BASE_PORTS:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port + offset))
            except OSError:
                return False
    return True


def _last_lines(text: str, count: int = 40) -> str:
    return "\n".join(text.splitlines()[-count:])


# The session's Druid once started (tests/druid/fixtures.py ends a test's Druid tasks through it,
# whatever address, a proxy's included, the test gave the app).
STARTED: list[LocalDruid] = []


LOCK_FILE = "druid.lock"
STATE_FILE = "druid.json"  # the running Druid and how many workers use it


@contextlib.contextmanager
def shared_druid(root: Path) -> Iterator[LocalDruid]:
    """The Druid of every test process that shares `root` (pytest-xdist's workers of one run):
    the first to enter starts it, the last to leave stops it. A file lock orders the two, so a
    worker that arrives during a start waits for that Druid instead of starting a second one."""
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        druid = _join(root)
    STARTED[:] = [druid]
    try:
        yield druid
    finally:
        with _locked(root):
            _leave(root)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    with (root / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _join(root: Path) -> LocalDruid:
    state = root / STATE_FILE
    if state.exists():
        known = json.loads(state.read_text())
        known["users"] += 1
        state.write_text(json.dumps(known))
        return _druid_of(known)
    # A fresh folder each start: a Druid stopped by an earlier last user leaves its own behind.
    druid = start_druid(Path(tempfile.mkdtemp(prefix="druid-", dir=root)))
    fields = asdict(druid) | {"var_dir": str(druid.var_dir) if druid.var_dir else None}
    state.write_text(json.dumps(fields | {"users": 1}))
    return druid


def _leave(root: Path) -> None:
    state = root / STATE_FILE
    known = json.loads(state.read_text())
    known["users"] -= 1
    if known["users"] > 0:
        state.write_text(json.dumps(known))
        return
    state.unlink()
    _druid_of(known).stop()


def _druid_of(known: dict[str, object]) -> LocalDruid:
    var_dir = known["var_dir"]
    offset = known["port_offset"]
    broker = known["broker_url"]
    return LocalDruid(
        url=str(known["url"]),
        var_dir=Path(str(var_dir)) if var_dir else None,
        port_offset=int(str(offset)) if offset is not None else None,
        broker_url=str(broker) if broker else None,
    )


def start_druid(var_dir: Path) -> LocalDruid:
    outside = os.environ.get("DRUID_TEST_URL", "").strip()
    if outside:
        broker = os.environ.get("DRUID_TEST_BROKER_URL", "").strip() or None
        return LocalDruid(outside.rstrip("/"), None, None, broker)
    if shutil.which("java") is None:
        unavailable(
            "Java is not installed, so the local Druid cannot run: "
            "apt-get install default-jre-headless maven (or set DRUID_TEST_URL)"
        )
    tried: list[int] = []
    for offset in PORT_OFFSETS:
        if not _ports_free(offset):
            continue
        tried.append(offset)
        druid = LocalDruid(url="", var_dir=var_dir, port_offset=offset)
        command = ("start", "--var", str(var_dir), "--port-offset", str(offset))
        try:
            result = _run(*command, timeout=START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as expired:
            druid.stop()
            output = expired.stderr or ""
            if isinstance(output, bytes):
                output = output.decode(errors="replace")
            unavailable(
                f"local Druid did not start within {START_TIMEOUT_SECONDS:.0f} s "
                f"(logs in {var_dir / 'log'}):\n{_last_lines(output)}"
            )
            raise AssertionError("unreachable") from None
        if result.returncode == EXIT_PORT_BUSY:
            continue  # taken between our check and its start: try the next offset
        urls = [
            line.removeprefix(URL_PREFIX).strip()
            for line in result.stdout.splitlines()
            if line.startswith(URL_PREFIX)
        ]
        if result.returncode != 0 or len(urls) != 1:
            druid.stop()
            unavailable(
                f"local Druid did not start (druid.py exit {result.returncode}; needs Java 17 "
                "and, for the first run, Maven with access to Maven Central: apt-get install "
                f"default-jre-headless maven):\n{_last_lines(result.stderr)}"
            )
            raise AssertionError("unreachable")
        druid.url = urls[0]
        brokers = [
            line.removeprefix(BROKER_PREFIX).strip()
            for line in result.stdout.splitlines()
            if line.startswith(BROKER_PREFIX)
        ]
        druid.broker_url = brokers[0] if brokers else None
        return druid
    unavailable(f"no free ports for a local Druid (port offsets tried: {tried or 'none free'})")
    raise AssertionError("unreachable")

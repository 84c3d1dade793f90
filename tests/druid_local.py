"""A real Apache Druid for the tests: druid/local/druid.py started on ports of its own.

`start_druid(var_dir)` picks a port offset whose ports are all free (so it runs beside a
developer's Druid on the default ports), starts every service and waits until a task can be
submitted. The first run assembles Druid's jars from Maven Central into ~/.cache (about a minute);
a start takes 40-60 s on 2 cores. When Java or Maven is missing, or Druid does not start, the tests
that need it are skipped (failed under REQUIRE_SERVICES=1) with what to install.

Set DRUID_TEST_URL=http://127.0.0.1:8888 to use an already running Druid instead (`make druid`):
nothing is started or stopped then.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
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


def start_druid(var_dir: Path) -> LocalDruid:
    druid = _start_druid(var_dir)
    STARTED[:] = [druid]
    return druid


def _start_druid(var_dir: Path) -> LocalDruid:
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

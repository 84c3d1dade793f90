"""Real services for the tests: a throwaway PostgreSQL cluster and moto's S3 server over HTTP.

When a service cannot start, tests that need it are skipped with what to install; with
REQUIRE_SERVICES=1 (set by .ci/run) that is a failure instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false")


def unavailable(message: str) -> None:
    if services_required():
        pytest.fail(f"{message} (REQUIRE_SERVICES=1 turns this skip into a failure)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


@dataclass
class PostgresCluster:
    bin_dir: Path
    data_dir: Path
    port: int
    _as_user: list[str]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str, driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as_user, *args], check=True, capture_output=True, cwd="/tmp", timeout=120
        )

    def stop(self) -> None:
        try:
            self._run(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"
            )
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_postgres() -> PostgresCluster:
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        unavailable("PostgreSQL server binaries not found: apt-get install postgresql")
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = PostgresCluster(bin_dir, root / "data", free_port(), as_user)
    options = " ".join(
        [
            f"-p {cluster.port}",
            f"-k {root}",
            "-c listen_addresses=127.0.0.1",
            "-c shared_preload_libraries=pg_stat_statements",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
        ]
    )
    try:
        cluster._run(
            str(bin_dir / "initdb"),
            "-D",
            str(cluster.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        cluster._run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(cluster.data_dir),
            "-l",
            str(root / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')} {log}")
    return cluster


@dataclass
class S3Server:
    endpoint_url: str
    _server: object

    def stop(self) -> None:
        self._server.stop()  # type: ignore[attr-defined]


def start_s3() -> S3Server:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        unavailable("moto's S3 server is not installed: pip install 'moto[server]'")
        raise AssertionError("unreachable") from None
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return S3Server(endpoint, server)
        except OSError:
            time.sleep(0.1)
    unavailable(f"moto's S3 server did not listen on {endpoint}")
    raise AssertionError("unreachable")

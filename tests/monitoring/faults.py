"""Private services for the fault suite: a PostgreSQL cluster it may stop and a moto S3 server (a
process of its own) it may SIGSTOP, without touching the session's shared ones."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from backend import migrations
from tests.conftest import TEMPLATE_DB, _create_database, in_thread
from tests.services import PostgresCluster, free_port, start_postgres, unavailable


@dataclass
class StoppablePostgres:
    cluster: PostgresCluster

    def url(self) -> str:
        name = f"f_{uuid.uuid4().hex[:12]}"
        in_thread(lambda: asyncio.run(_create_database(self.cluster, name, TEMPLATE_DB)))
        return self.cluster.url(name)

    def stop(self) -> None:
        pg_ctl = str(self.cluster.bin_dir / "pg_ctl")
        self.cluster._run(pg_ctl, "-D", str(self.cluster.data_dir), "-m", "fast", "-w", "stop")

    def start(self) -> None:
        root = self.cluster.data_dir.parent
        options = f"-p {self.cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = str(self.cluster.bin_dir / "pg_ctl")
        data, log = str(self.cluster.data_dir), str(root / "log")
        self.cluster._run(pg_ctl, "-D", data, "-l", log, "-o", options, "-w", "start")

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


def private_postgres() -> StoppablePostgres:
    cluster = start_postgres()
    in_thread(lambda: asyncio.run(_create_database(cluster, TEMPLATE_DB)))
    in_thread(migrations.upgrade, cluster.url(TEMPLATE_DB))
    return StoppablePostgres(cluster)


@dataclass
class StallableS3:
    endpoint_url: str
    process: subprocess.Popen[bytes]
    workdir: Path  # pytest's temporary folder for this module: its log, the tests' caches

    @contextlib.contextmanager
    def stalled(self) -> Iterator[None]:
        """The server stops (SIGSTOP): connections are accepted by the kernel, never answered."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            self.resume()

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def private_s3(workdir: Path) -> StallableS3:
    port = free_port()
    log = (workdir / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = StallableS3(f"http://127.0.0.1:{port}", process, workdir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    unavailable("moto's S3 server (python -m moto.server) did not start")
    raise AssertionError("unreachable")


@contextlib.contextmanager
def full_folder(base: Path, name: str, size: str = "1m") -> Iterator[Path]:
    """A small tmpfs (we run as root in CI and here), filled to the last byte by the caller's
    `fill`; unmounted afterwards. Skipped where mounting is not allowed."""
    target = base / name
    target.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        unavailable(f"a small tmpfs cannot be mounted here (needs root): {mounted.stderr!r}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def fill(folder: Path) -> None:
    """Write until the disk is full (ENOSPC), leaving no byte free."""
    with contextlib.suppress(OSError), (folder / ".filler").open("wb") as handle:
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    with contextlib.suppress(OSError), (folder / ".filler-tail").open("wb") as handle:
        while True:
            handle.write(b"\0")
            handle.flush()


class CuttableLink:
    """A TCP relay to a server that can be cut: while cut, connections are refused and those
    open are closed (a network partition, which a stalled server is not: SIGSTOP keeps the
    requests it was sent and answers them once resumed)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        for connection in self._open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

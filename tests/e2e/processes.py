"""Real processes for end-to-end tests: uvicorn serving backend.main:app, and `python -m backend worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import harness

ROOT = Path(__file__).resolve().parents[2]


def process_env(settings_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a server or worker process under test. Callers are trusted as admins
    (AUTH_ANONYMOUS_ROLE=admin) unless `extra` says otherwise: these tests are about processes,
    not access control (tests/auth covers it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "STORAGE_", "WORKER_", "AUTH_"))
    }
    env["AUTH_ANONYMOUS_ROLE"] = "admin"
    # one address sends everything here (tests/auth tests the limits)
    env["RATE_LIMIT_PER_MINUTE"] = "0"
    env["UPLOADS_IN_FLIGHT"] = "0"
    env.update(settings_env)
    env.update(extra)
    return env


# As `make run`, the Dockerfile and docker-compose.yml start it: the Makefile's UVICORN_FLAGS,
# read by the launcher the benchmarks use too (bench/harness.py), so the two cannot drift.
UVICORN_FLAGS = harness.uvicorn_flags()


@contextmanager
def uvicorn_server(
    env: dict[str, str],
    log: Path,
    port: int | None = None,
    flags: tuple[str, ...] = UVICORN_FLAGS,
) -> Iterator[str]:
    """uvicorn serving the app, started with `flags` (pass () for uvicorn's defaults)."""
    with harness.uvicorn_server(
        env, log, port=port, flags=flags, cwd=ROOT, error=AssertionError
    ) as server:
        yield server.url


def cli_admin_token(env: dict[str, str], path: Path) -> str:
    """An admin token made the way `make run` makes it (`tokens ensure-admin`), written to
    `path`; returns the token."""
    subprocess.run(
        [sys.executable, "-m", "backend", "tokens", "ensure-admin", "--file", str(path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path.read_text().strip()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "backend", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_worker(worker: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    """SIGTERM, as `docker stop` sends it, and the worker's exit within `timeout`; one that does
    not exit is killed (harness.stop) and the test fails with the end of its log (it names each
    slow step of its stop)."""
    if harness.stop(worker, grace=timeout) == -signal.SIGKILL:
        tail = log.read_text(errors="replace")[-4000:]
        raise AssertionError(f"the worker did not stop within {timeout:.0f} s:\n{tail}")


def wait_for_status(
    url: str, task_id: str, wanted: set[str], timeout: float = 120
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, object] = httpx.get(f"{url}/api/ingest/status/{task_id}", timeout=10).json()
        if body["status"] in wanted:
            return body
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not reach {wanted} in {timeout}s")

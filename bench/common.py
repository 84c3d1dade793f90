"""Helpers the benchmark scripts share: timing summaries, the machine, test data, a server."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "var" / "bench"


class BenchError(RuntimeError):
    """Something the benchmark needs did not work (as opposed to a missed target)."""


def ms(seconds: list[float]) -> dict[str, float]:
    values = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else 0
    return {"p50": statistics.median(values), "p95": p95 or values[-1], "n": len(values)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine(*packages: str) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gib": round(kib / 1024**2, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        **{p: metadata.version(p) for p in packages},
    }


def ensure_csv(rows: int) -> Path:
    """A generated sales CSV of `rows` rows under var/bench (made once)."""
    path = DATA_DIR / f"sales_{rows}.csv"
    if not path.is_file():
        sys.path.insert(0, str(REPO_ROOT))
        from bench.generate_sales import write_csv

        print(f"generating {path} ...", flush=True)
        write_csv(path, rows, seed=20190101)
    return path


def start_server(
    env: Mapping[str, str], log: Path, port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`uvicorn backend.main:app` with `env` added to this environment; waits until it answers."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1"]
    command += ["--no-proxy-headers", "--no-server-header", "--http", "h11"]  # as `make run`
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.terminate()
    raise BenchError("server did not answer within 60 s")

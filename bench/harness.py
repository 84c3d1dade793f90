"""The harness every benchmark script uses: a real uvicorn server, a free port, the machine,
timings, generated input files, uploads, and the JSON results file.

The end-to-end tests start uvicorn with the same launcher (tests/e2e/processes.py), so a
benchmark measures the server the way `make run` starts it and the tests check it: the flags
come from one place, the Makefile's UVICORN_FLAGS. This module imports only the standard
library (httpx when it talks to a server), so a measured child process may import it too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "var" / "bench"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
MAKEFILE = REPO_ROOT / "Makefile"
GENERATOR = REPO_ROOT / "bench" / "generate_sales.py"
SEED = 20190101
MB = 1_000_000  # throughput is in MB/s (10**6 bytes); memory in MiB
MIB = 1024 * 1024
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")


class BenchError(RuntimeError):
    """Something the benchmark needs did not work (as opposed to a missed target)."""


def run_main(main: Callable[[], int]) -> NoReturn:
    """A bench script's entry point: its exit code, or 1 with the reason when it fails."""
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(1)


class TaskTimeout(BenchError):
    """A task had not ended when the benchmark stopped waiting for it."""


# --- the server ----------------------------------------------------------------------------------


def uvicorn_flags(makefile: Path = MAKEFILE) -> tuple[str, ...]:
    """The flags `make run` gives uvicorn: the Makefile's `UVICORN_FLAGS := ...` line."""
    for line in makefile.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition(":=")
        if sep and name.strip() == "UVICORN_FLAGS":
            return tuple(shlex.split(value))
    raise BenchError(f"{makefile} has no UVICORN_FLAGS line")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(
    settings: Mapping[str, str], drop: tuple[str, ...] = ("DATABASE_", "STORAGE_")
) -> dict[str, str]:
    """This process's environment without the variables starting with `drop` (each benchmark
    server has its own database and storage), for a throwaway server on loopback whose
    requests carry no token; `settings` are added last, so they win."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(PYTHONUNBUFFERED="1", AUTH_ANONYMOUS_ROLE="admin")
    env.update(settings)
    return env


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@contextmanager
def uvicorn_server(
    env: Mapping[str, str],
    log: Path,
    *,
    port: int | None = None,
    flags: tuple[str, ...] | None = None,
    cwd: Path = REPO_ROOT,
    grace: float = 20,
    error: type[Exception] = BenchError,
) -> Iterator[Server]:
    """`uvicorn backend.main:app` on 127.0.0.1 with exactly `env` as its environment and `flags`
    (default: the Makefile's; pass () for uvicorn's defaults), output in `log`. Yields once
    /readyz answers 200; on leaving, SIGTERM, then SIGKILL after `grace` seconds. Start-up
    failures raise `error` with the log."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    flags = uvicorn_flags() if flags is None else flags
    command = [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), *flags],
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(url, process, log, error=error)
            yield Server(process, url, log)
        finally:
            stop(process, grace)


def wait_until_serving(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 60,
    error: type[Exception] = BenchError,
) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise error(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise error(f"server did not start in {timeout}s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], grace: float = 20) -> int:
    """Terminates the process (if it still runs) and returns its exit code; uvicorn re-raises
    the SIGTERM it handled, so -15 is a clean shutdown."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def log_problems(log: Path) -> list[str]:
    """The server log's lines that say something went wrong."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return []
    markers = ("Traceback", "ERROR", "CRITICAL")
    return [line for line in text.splitlines() if any(m in line for m in markers)]


# --- uploads -------------------------------------------------------------------------------------


def curl_upload(url: str, path: Path, datasource: str = "sales") -> tuple[int, dict[str, Any]]:
    """POSTs the file to /api/ingest/upload with curl (streamed from disk, no 100-continue);
    returns the status code and the JSON body."""
    result = subprocess.run(
        ["curl", "-sS", "-H", "Expect:", "-o", "-", "-w", "\n%{http_code}"]
        + ["-F", f"datasource_name={datasource}", "-F", f'file=@"{path}";type=text/csv']
        + [f"{url}/api/ingest/upload"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BenchError(f"curl failed ({result.returncode}): {result.stderr.strip()}")
    body, _, code = result.stdout.rpartition("\n")
    return int(code), json_or_text(body)


def json_or_text(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text[:2000]}
    return value if isinstance(value, dict) else {"raw": value}


def wait_for_task(
    url: str,
    task_id: str,
    timeout: float = 600,
    interval: float = 0.2,
    headers: Mapping[str, str] | None = None,
    server: subprocess.Popen[bytes] | None = None,
) -> dict[str, Any]:
    """Polls the task until it has ended (succeeded, failed or cancelled); returns its status.
    With `server`, the process serving `url`, fails as soon as it has exited."""
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        while True:
            if server is not None and server.poll() is not None:
                raise BenchError(f"server exited with {server.returncode} while processing")
            response = client.get(f"/api/ingest/status/{task_id}")
            if response.status_code != 200:
                raise BenchError(f"status answered {response.status_code}: {response.text[:500]}")
            body: dict[str, Any] = response.json()
            if body["status"] in TERMINAL_STATUSES:
                return body
            if time.monotonic() > deadline:
                raise TaskTimeout(f"task {task_id} still {body['status']} after {timeout:.0f}s")
            time.sleep(interval)


def upload_and_wait(url: str, path: Path, datasource: str = "sales", timeout: float = 600) -> str:
    """Uploads with curl and waits for the task to succeed; returns its id."""
    code, body = curl_upload(url, path, datasource)
    if code != 202:
        raise BenchError(f"upload of {path.name} answered {code}: {body}")
    task = wait_for_task(url, str(body["task_id"]), timeout)
    if task["status"] != "succeeded":
        raise BenchError(f"{path.name}: {task['status']}: {task.get('error')}")
    return str(body["task_id"])


# --- input files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvFile:
    path: Path
    rows: int
    size_bytes: int
    generated_seconds: float | None  # None: reused from an earlier run


def ensure_csv(rows: int, data_dir: Path = DATA_DIR) -> CsvFile:
    """`data_dir`/sales_<rows>.csv, generated with bench/generate_sales.py unless its sidecar
    (.meta.json) says the file there is complete and made by the current generator."""
    path = data_dir / f"sales_{rows}.csv"
    meta_path = path.with_name(path.name + ".meta.json")
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:16]
    wanted = {"rows": rows, "seed": SEED, "generator": digest}
    if path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        size = path.stat().st_size
        if all(meta.get(k) == v for k, v in wanted.items()) and meta.get("size_bytes") == size:
            return CsvFile(path, rows, size, None)
    from bench.generate_sales import write_csv

    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"generating {rows:,} rows -> {path} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    write_csv(path, rows, SEED)
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    meta_path.write_text(json.dumps({**wanted, "size_bytes": size}) + "\n")
    return CsvFile(path, rows, size, seconds)


# --- timings -------------------------------------------------------------------------------------


def ms(seconds: list[float]) -> dict[str, float]:
    """p50, p95 (milliseconds) and the count of a list of durations in seconds."""
    values = sorted(s * 1000 for s in seconds)
    p95 = statistics.quantiles(values, n=100, method="inclusive")[94] if len(values) > 1 else 0
    return {"p50": statistics.median(values), "p95": p95 or values[-1], "n": len(values)}


def spread(values: list[float]) -> str:
    """`min-max` of the values, for a table cell."""
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


def time_calls(run: Callable[[], object], reps: int, warmups: int = 0) -> list[float]:
    """Seconds each of `reps` calls of `run` took, after `warmups` calls that are not timed."""
    for _ in range(warmups):
        run()
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


# --- the machine ---------------------------------------------------------------------------------


def _proc_line(path: str, key: str) -> str | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(key)), None)


def machine(*packages: str) -> dict[str, Any]:
    """What the figures depend on: CPUs, memory, kernel, load, Python and `packages`' versions
    (None for a package that is not installed)."""
    memory = _proc_line("/proc/meminfo", "MemTotal")
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu": _proc_line("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gib": round(int(memory.split()[0]) / 1024**2, 1) if memory else None,
        "kernel": platform.release(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        **versions,
    }


def machine_line(info: Mapping[str, Any]) -> str:
    """One sentence on the machine, for the top of a report."""
    load = " ".join(f"{x:.2f}" for x in info["load_before"])
    return (
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB RAM, "
        f"Linux {info['kernel']}, load average {load}"
    )


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def command_line() -> str:
    return shlex.join([Path(sys.executable).name, *sys.argv])


# --- /proc: the CPU time and memory of a server ---------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """The process and its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                children = Path(f"/proc/{current}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            pending.extend(int(child) for child in children)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, key: str) -> int:
    """A figure of /proc/<pid>/status in KiB (VmRSS, VmHWM), 0 when it cannot be read."""
    value = _proc_line(f"/proc/{pid}/status", key + ":")
    try:
        return int(value.split()[0]) if value else 0
    except ValueError:
        return 0


# --- results -------------------------------------------------------------------------------------


def write_results(script: str, record: Mapping[str, Any], when: dt.datetime | None = None) -> Path:
    """Writes the run's results to bench/results/<script>-<UTC time>.json (not committed: copy
    what matters into bench/RESULTS.md) and says where; returns the path."""
    when = when or utc_now()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{script}-{when:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results: {path.relative_to(REPO_ROOT)}", flush=True)
    return path

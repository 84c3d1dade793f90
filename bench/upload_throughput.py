"""Upload + processing throughput of the ingestion service, against raw Polars on the same file.

Run it from the repository root (``make bench`` runs ``python bench/upload_throughput.py``):

    .venv/bin/python bench/upload_throughput.py                 # 5,000,000 rows (~670 MB) and 2x
    .venv/bin/python bench/upload_throughput.py --rows 200000   # quick check, a few seconds

One run does all of this:

1. Generates (or reuses, when the size and generator match) a 1x CSV of ``--rows`` rows and a
   2x CSV of twice as many under ``var/bench/`` with ``bench/generate_sales.py``.
2. Baseline: times ``pl.scan_csv(path, infer_schema_length=10000).sink_parquet(out,
   compression="zstd")`` on each file in a fresh Python subprocess (timed inside the child, so
   interpreter start-up is not counted) and records the child's peak RSS.
3. For each file, starts a fresh ``uvicorn backend.main:app`` with a temporary SQLite database and
   storage folder, uploads the file with curl (streamed from disk), polls the task until it has
   succeeded, and measures the upload (until the 202) and end to end (until ``succeeded``). A
   thread samples the server's RSS (the process and any children, /proc VmRSS) every 50 ms; the
   kernel's own peak (VmHWM) is reported next to it.
   Steps 2 and 3 alternate per file and are repeated ``--repeat`` times (default 3, because a
   small shared machine is noisy); the table shows medians with the min-max spread, and the
   worst peak RSS.
4. Prints a table, the targets (service throughput >= 60% of raw Polars; server peak RSS under
   600 MiB and flat from 1x to 2x), the machine, and a final JSON line for scripts.

The exit status is non-zero only when something failed (generation, baseline, upload, a failed
task, a server that crashed); a missed target is reported, not treated as a failure.
Linux only (/proc).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx
import polars as pl

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT / "bench" / "generate_sales.py"
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "bench"
DEFAULT_ROWS = 5_000_000
SEED = 20190101
MB = 1_000_000  # throughput is in MB/s (10**6 bytes); memory in MiB
MIB = 1024 * 1024
RATIO_TARGET = 0.6  # issue "Speed": >= 0.6 of raw Polars
RSS_TARGET_MIB = 600.0  # and <= 600 MB, flat from 1x to 2x
# "Flat" from 1x to 2x: the 2x peak is at most this much above the 1x peak.
FLAT_TOLERANCE = 0.25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Runs in a fresh interpreter: argv = source, target. Prints one JSON object.
_BASELINE_CHILD = """
import json, resource, sys, time
import polars as pl

source, target = sys.argv[1], sys.argv[2]
start = time.perf_counter()
pl.scan_csv(source, infer_schema_length=10000).sink_parquet(target, compression="zstd")
seconds = time.perf_counter() - start
rows = pl.scan_parquet(target).select(pl.len()).collect().item()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "seconds": seconds,
    "rows": rows,
    "peak_rss_kib": usage.ru_maxrss,
    "cpu_seconds": usage.ru_utime + usage.ru_stime,
}))
"""


class BenchError(Exception):
    """Something failed (not a missed target): the run exits non-zero."""


# --- input files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputFile:
    label: str
    path: Path
    rows: int
    size_bytes: int
    generated_seconds: float | None  # None: reused from an earlier run


def _generator_digest() -> str:
    return hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:16]


def ensure_input(label: str, data_dir: Path, rows: int) -> InputFile:
    """Reuse var/bench/sales_<rows>.csv when its sidecar says it is complete and current."""
    path = data_dir / f"sales_{rows}.csv"
    meta_path = path.with_name(path.name + ".meta.json")
    wanted = {"rows": rows, "seed": SEED, "generator": _generator_digest()}
    if path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        size = path.stat().st_size
        if all(meta.get(k) == v for k, v in wanted.items()) and meta.get("size_bytes") == size:
            return InputFile(label, path, rows, size, None)
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"generating {rows:,} rows -> {path} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    command = [sys.executable, str(GENERATOR), "--rows", str(rows), "--seed", str(SEED)]
    result = subprocess.run(
        [*command, "--out", str(path)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchError(f"generating {path} failed ({result.returncode}): {result.stderr.strip()}")
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    meta_path.write_text(json.dumps({**wanted, "size_bytes": size}) + "\n")
    return InputFile(label, path, rows, size, seconds)


# --- raw Polars baseline -------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    seconds: float
    mb_per_s: float
    peak_rss_mib: float
    cpu_seconds: float


def run_baseline(source: InputFile, workdir: Path) -> Baseline:
    target = workdir / f"baseline_{source.label}.parquet"
    result = subprocess.run(
        [sys.executable, "-c", _BASELINE_CHILD, str(source.path), str(target)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    target.unlink(missing_ok=True)
    if result.returncode != 0:
        raise BenchError(f"raw Polars baseline failed on {source.path}: {result.stderr.strip()}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if out["rows"] != source.rows:
        raise BenchError(f"raw Polars wrote {out['rows']} rows from {source.rows}")
    seconds = float(out["seconds"])
    return Baseline(
        seconds=seconds,
        mb_per_s=source.size_bytes / MB / seconds,
        peak_rss_mib=out["peak_rss_kib"] / 1024,
        cpu_seconds=float(out["cpu_seconds"]),
    )


# --- /proc: memory and CPU of the server process tree --------------------------------------------


def _process_tree(pid: int) -> list[int]:
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


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    return sum(_status_kib(p, "VmRSS") for p in _process_tree(pid)) * 1024


def tree_hwm_bytes(pid: int) -> int:
    """The kernel's peak RSS of each process in the tree, summed (an upper bound for several)."""
    return sum(_status_kib(p, "VmHWM") for p in _process_tree(pid)) * 1024


def tree_cpu_seconds(pid: int) -> float:
    ticks = 0
    for p in _process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / CLOCK_TICKS


class RssSampler(threading.Thread):
    """Samples the RSS of a process and its descendants every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(name=f"rss-{pid}", daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            sample = (time.monotonic(), tree_rss_bytes(self.pid))
            with self._lock:
                self.samples.append(sample)
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)

    def peak_mib(self, start: float = -math.inf, end: float = math.inf) -> float:
        with self._lock:
            window = [rss for at, rss in self.samples if start <= at <= end]
        return max(window, default=0) / MIB


# --- the service ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    storage: Path


def start_server(workdir: Path, max_upload_mb: int, worker_concurrency: int | None) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "STORAGE_", "WORKER_", "MAX_UPLOAD_"))
    }
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        STORAGE_URL=str(workdir / "storage"),
        MAX_UPLOAD_MB=str(max_upload_mb),
        PYTHONUNBUFFERED="1",
        # A throwaway server on loopback: requests carry no token.
        AUTH_ANONYMOUS_ROLE="admin",
    )
    if worker_concurrency is not None:
        env["WORKER_CONCURRENCY"] = str(worker_concurrency)
    port = free_port()
    log = workdir / "server.log"
    command = [sys.executable, "-m", "uvicorn", "backend.main:app"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log, workdir / "storage")
    try:
        _wait_until_serving(server, timeout=60)
    except BaseException:
        stop_server(server)
        raise
    return server


def _wait_until_serving(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"server exited with {server.process.returncode} at start-up:\n{log_tail(server)}"
            )
        try:
            if httpx.get(f"{server.url}/api/ingest/tasks", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchError(f"server did not answer within {timeout:.0f}s:\n{log_tail(server)}")


def stop_server(server: Server) -> int:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    return server.process.returncode


def log_tail(server: Server, lines: int = 40) -> str:
    try:
        text = server.log.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


def log_problems(server: Server) -> list[str]:
    try:
        text = server.log.read_text(errors="replace")
    except OSError:
        return []
    return [
        line
        for line in text.splitlines()
        if "Traceback" in line or "ERROR" in line or "CRITICAL" in line
    ]


def upload(url: str, path: Path, datasource: str, client: str) -> tuple[int, dict[str, Any]]:
    """POST the file as multipart, streamed from disk. Returns the status code and JSON body."""
    endpoint = f"{url}/api/ingest/upload"
    if client == "curl":
        result = subprocess.run(
            [
                "curl",
                "-sS",
                "-H",
                "Expect:",  # no 100-continue round trip
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "-F",
                f"datasource_name={datasource}",
                "-F",
                f'file=@"{path}";type=text/csv',
                endpoint,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BenchError(f"curl failed ({result.returncode}): {result.stderr.strip()}")
        body, _, code = result.stdout.rpartition("\n")
        return int(code), _json_or_text(body)
    with path.open("rb") as handle:
        response = httpx.post(
            endpoint,
            data={"datasource_name": datasource},
            files={"file": (path.name, handle, "text/csv")},
            timeout=httpx.Timeout(30, write=None, read=600),
        )
    return response.status_code, _json_or_text(response.text)


def _json_or_text(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text[:2000]}
    return value if isinstance(value, dict) else {"raw": value}


def _seconds_between(body: dict[str, Any], start: str, end: str) -> float | None:
    if not body.get(start) or not body.get(end):
        return None
    delta = dt.datetime.fromisoformat(body[end]) - dt.datetime.fromisoformat(body[start])
    return delta.total_seconds()


@dataclass
class ServiceRun:
    label: str
    ok: bool = False
    error: str | None = None
    task_id: str | None = None
    http_status: int | None = None
    final_status: str | None = None
    rows_read: int | None = None
    upload_seconds: float | None = None
    end_to_end_seconds: float | None = None
    end_to_end_mb_per_s: float | None = None
    upload_mb_per_s: float | None = None
    # From the task's own timestamps (server clock): created = recorded after the upload,
    # started = claimed by a worker, finished = dataset stored and task succeeded.
    queue_seconds: float | None = None
    processing_seconds: float | None = None
    # Split of processing by the task's events: CSV -> Parquet (until `loading`), then storing.
    convert_seconds: float | None = None
    store_seconds: float | None = None
    parquet_bytes: int | None = None
    idle_rss_mib: float | None = None
    peak_rss_mib: float | None = None
    peak_rss_upload_mib: float | None = None
    peak_rss_processing_mib: float | None = None
    vm_hwm_mib: float | None = None
    cpu_upload_seconds: float | None = None
    cpu_processing_seconds: float | None = None
    server_exit_code: int | None = None
    server_log_problems: list[str] = field(default_factory=list)
    server_log: str | None = None


def run_service(
    source: InputFile,
    workdir: Path,
    *,
    client: str,
    max_upload_mb: int,
    worker_concurrency: int | None,
    poll_interval: float,
    task_timeout: float,
) -> ServiceRun:
    run = ServiceRun(source.label)
    server = start_server(workdir, max_upload_mb, worker_concurrency)
    run.server_log = str(server.log)
    pid = server.process.pid
    sampler = RssSampler(pid)
    sampler.start()
    try:
        time.sleep(0.5)
        run.idle_rss_mib = tree_rss_bytes(pid) / MIB
        datasource = f"bench_{source.label}_{os.getpid()}"
        cpu0 = tree_cpu_seconds(pid)
        t0 = time.monotonic()
        run.http_status, accepted = upload(server.url, source.path, datasource, client)
        t_upload = time.monotonic()
        cpu1 = tree_cpu_seconds(pid)
        run.upload_seconds = t_upload - t0
        run.upload_mb_per_s = source.size_bytes / MB / run.upload_seconds
        if run.http_status != 202:
            raise BenchError(f"upload answered {run.http_status}, not 202: {accepted}")
        run.task_id = str(accepted["task_id"])
        body = _poll(server, run.task_id, poll_interval, task_timeout)
        t_end = time.monotonic()
        cpu2 = tree_cpu_seconds(pid)
        run.vm_hwm_mib = tree_hwm_bytes(pid) / MIB
        run.final_status = str(body["status"])
        run.rows_read = body.get("rows_read")
        run.queue_seconds = _seconds_between(body, "created_at", "started_at")
        run.processing_seconds = _seconds_between(body, "started_at", "finished_at")
        loading = next((e["at"] for e in body.get("events", []) if e["status"] == "loading"), None)
        timeline = {**body, "loading_at": loading}
        run.convert_seconds = _seconds_between(timeline, "started_at", "loading_at")
        run.store_seconds = _seconds_between(timeline, "loading_at", "finished_at")
        run.cpu_upload_seconds = cpu1 - cpu0
        run.cpu_processing_seconds = cpu2 - cpu1
        time.sleep(0.2)
        sampler.stop()
        run.peak_rss_mib = sampler.peak_mib(t0, t_end)
        run.peak_rss_upload_mib = sampler.peak_mib(t0, t_upload)
        run.peak_rss_processing_mib = sampler.peak_mib(t_upload, t_end)
        if run.final_status != "succeeded":
            raise BenchError(f"task {run.task_id} ended {run.final_status}: {body.get('error')}")
        run.end_to_end_seconds = t_end - t0
        run.end_to_end_mb_per_s = source.size_bytes / MB / run.end_to_end_seconds
        if run.rows_read != source.rows:
            raise BenchError(f"the service read {run.rows_read} rows, the file has {source.rows}")
        dataset = server.storage / "datasets" / datasource / f"{run.task_id}.parquet"
        if not dataset.is_file():
            raise BenchError(f"the dataset {dataset} is missing")
        run.parquet_bytes = dataset.stat().st_size
        run.ok = True
    except BenchError as exc:
        run.error = str(exc)
    finally:
        sampler.stop()
        crashed = server.process.poll() is not None
        run.server_exit_code = stop_server(server)
        run.server_log_problems = log_problems(server)
        if crashed:
            run.ok = False
            run.error = (run.error or "") + (
                f" server exited during the run with {run.server_exit_code}"
            )
        elif run.server_exit_code not in (0, -signal.SIGTERM):
            # uvicorn re-raises the SIGTERM it handled, so -15 is a clean shutdown.
            run.ok = False
            run.error = (run.error or "") + f" server shutdown exit code {run.server_exit_code}"
        if not run.ok:
            run.error = (run.error or "failed").strip() + f"\nserver log tail:\n{log_tail(server)}"
    return run


def _poll(server: Server, task_id: str, interval: float, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.url, timeout=30) as http:
        while True:
            if server.process.poll() is not None:
                raise BenchError(f"server exited with {server.process.returncode} while processing")
            response = http.get(f"/api/ingest/status/{task_id}")
            if response.status_code != 200:
                raise BenchError(f"status answered {response.status_code}: {response.text[:500]}")
            body: dict[str, Any] = response.json()
            if body["status"] in ("succeeded", "failed", "cancelled"):
                return body
            if time.monotonic() > deadline:
                raise BenchError(f"task {task_id} still {body['status']} after {timeout:.0f}s")
            time.sleep(interval)


# --- repeats -------------------------------------------------------------------------------------

# Peaks are the worst over the repeats; every other figure is the median.
_PEAK_FIELDS = {"peak_rss_mib", "peak_rss_upload_mib", "peak_rss_processing_mib", "vm_hwm_mib"}


def combine_baselines(source: InputFile, samples: list[Baseline]) -> Baseline:
    seconds = statistics.median(b.seconds for b in samples)
    return Baseline(
        seconds=seconds,
        mb_per_s=source.size_bytes / MB / seconds,
        peak_rss_mib=max(b.peak_rss_mib for b in samples),
        cpu_seconds=statistics.median(b.cpu_seconds for b in samples),
    )


def combine_runs(source: InputFile, samples: list[ServiceRun]) -> ServiceRun:
    combined = ServiceRun(source.label, ok=all(r.ok for r in samples))
    for spec in fields(ServiceRun):
        values = [v for r in samples if (v := getattr(r, spec.name)) is not None]
        if not values or spec.name in ("label", "ok"):
            continue
        if spec.name in _PEAK_FIELDS:
            setattr(combined, spec.name, max(values))
        elif isinstance(values[0], float):
            setattr(combined, spec.name, statistics.median(values))
        elif spec.name == "server_log_problems":
            combined.server_log_problems = [line for r in samples for line in r.server_log_problems]
        elif spec.name == "error":
            combined.error = "\n".join(values)
        else:
            setattr(combined, spec.name, values[-1])
    for seconds, rate in (
        ("end_to_end_seconds", "end_to_end_mb_per_s"),
        ("upload_seconds", "upload_mb_per_s"),
    ):
        if value := getattr(combined, seconds):
            setattr(combined, rate, source.size_bytes / MB / value)
    return combined


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.2f}-{max(values):.2f}"


# --- report --------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "mem_total_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _ratio(baseline: Baseline | None, run: ServiceRun) -> float | None:
    if baseline is None or not run.end_to_end_seconds:
        return None
    return baseline.seconds / run.end_to_end_seconds


def print_report(
    inputs: list[InputFile],
    baselines: dict[str, Baseline],
    runs: dict[str, ServiceRun],
    samples: dict[str, tuple[list[Baseline], list[ServiceRun]]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    labels = [f.label for f in inputs]
    repeats = max((len(s[1]) for s in samples.values()), default=0)

    def row(name: str, values: list[str]) -> str:
        return f"{name:<46}" + "".join(f"{v:>16}" for v in values)

    def metric(name: str, get: Any) -> str:
        return row(name, [get(label) for label in labels])

    def base(label: str) -> Baseline | None:
        return baselines.get(label)

    def srv(label: str) -> ServiceRun:
        return runs.get(label) or ServiceRun(label)

    sizes = {f.label: f for f in inputs}
    lines = [
        "",
        f"Upload + processing throughput: median of {repeats} run(s), peaks are the maximum "
        "(MB = 10^6 bytes, MiB = 2^20 bytes)",
        row("", labels),
        metric("file size (MB)", lambda k: _fmt(sizes[k].size_bytes / MB)),
        metric("rows", lambda k: _fmt(sizes[k].rows)),
        metric("raw Polars seconds", lambda k: _fmt(b.seconds if (b := base(k)) else None, 2)),
        metric(
            "  min-max over runs",
            lambda k: _spread([b.seconds for b in samples.get(k, ([], []))[0]]),
        ),
        metric("raw Polars MB/s", lambda k: _fmt(b.mb_per_s if (b := base(k)) else None)),
        metric(
            "raw Polars peak RSS (MiB)", lambda k: _fmt(b.peak_rss_mib if (b := base(k)) else None)
        ),
        metric(
            "raw Polars CPU seconds", lambda k: _fmt(b.cpu_seconds if (b := base(k)) else None, 2)
        ),
        metric("service end-to-end seconds", lambda k: _fmt(srv(k).end_to_end_seconds, 2)),
        metric(
            "  min-max over runs",
            lambda k: _spread(
                [t for r in samples.get(k, ([], []))[1] if (t := r.end_to_end_seconds)]
            ),
        ),
        metric("service end-to-end MB/s", lambda k: _fmt(srv(k).end_to_end_mb_per_s)),
        metric("  upload only (until 202) seconds", lambda k: _fmt(srv(k).upload_seconds, 2)),
        metric("  upload only MB/s", lambda k: _fmt(srv(k).upload_mb_per_s)),
        metric("  queued (created -> started) seconds", lambda k: _fmt(srv(k).queue_seconds, 2)),
        metric(
            "  processing (started -> finished) seconds",
            lambda k: _fmt(srv(k).processing_seconds, 2),
        ),
        metric(
            "    CSV -> Parquet (until loading) seconds", lambda k: _fmt(srv(k).convert_seconds, 2)
        ),
        metric("    storing the Parquet seconds", lambda k: _fmt(srv(k).store_seconds, 2)),
        metric("  server CPU seconds: upload", lambda k: _fmt(srv(k).cpu_upload_seconds, 2)),
        metric(
            "  server CPU seconds: processing", lambda k: _fmt(srv(k).cpu_processing_seconds, 2)
        ),
        metric(
            f"ratio service/raw throughput (target >= {RATIO_TARGET})",
            lambda k: _fmt(_ratio(base(k), srv(k)), 2),
        ),
        metric("server RSS idle (MiB)", lambda k: _fmt(srv(k).idle_rss_mib)),
        metric(
            f"server peak RSS sampled (MiB, target < {RSS_TARGET_MIB:.0f})",
            lambda k: _fmt(srv(k).peak_rss_mib),
        ),
        metric("  peak during upload (MiB)", lambda k: _fmt(srv(k).peak_rss_upload_mib)),
        metric("  peak during processing (MiB)", lambda k: _fmt(srv(k).peak_rss_processing_mib)),
        metric("server VmHWM, kernel peak (MiB)", lambda k: _fmt(srv(k).vm_hwm_mib)),
        metric("parquet written (MB)", lambda k: _fmt((srv(k).parquet_bytes or 0) / MB or None)),
        metric(
            "result",
            lambda k: ("ok" if r.ok else "FAILED") if (r := runs.get(k)) else "not run",
        ),
    ]
    targets = _targets(labels, baselines, runs)
    lines += ["", "Targets (reported, never a failure):"]
    lines += [f"  {t['name']}: {t['verdict']} ({t['detail']})" for t in targets]
    lines += [
        "",
        f"machine: {meta['machine']['nproc']} CPUs ({meta['machine']['cpu_model']}), "
        f"{meta['machine']['mem_total_gib']} GiB RAM, Linux {meta['machine']['kernel']}; "
        f"load average {meta['machine']['loadavg_start']} at start, "
        f"{meta['machine']['loadavg_end']} at end",
        f"date: {meta['date']}",
        f"python {meta['python']}, polars {meta['polars']}, upload client {meta['client']}, "
        f"WORKER_CONCURRENCY {meta['worker_concurrency']}, repeats {meta['repeat']} "
        "(raw Polars and service interleaved per file)",
        f"command: {meta['command']}",
    ]
    for label in labels:
        run = runs.get(label)
        if run and run.server_log_problems:
            lines.append(f"server log ({label}) has {len(run.server_log_problems)} error line(s):")
            lines += [f"  {line}" for line in run.server_log_problems[:10]]
        if run and run.error:
            lines.append(f"{label} FAILED: {run.error}")
    print("\n".join(lines), flush=True)
    return {"targets": targets}


def _targets(
    labels: list[str], baselines: dict[str, Baseline], runs: dict[str, ServiceRun]
) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    ratios = {k: _ratio(baselines.get(k), runs.get(k) or ServiceRun(k)) for k in labels}
    for label, ratio in ratios.items():
        verdict = "n/a" if ratio is None else ("met" if ratio >= RATIO_TARGET else "MISSED")
        targets.append(
            {
                "name": f"throughput {label} >= {RATIO_TARGET:.0%} of raw Polars",
                "verdict": verdict,
                "detail": "no figure" if ratio is None else f"{ratio:.0%} of raw Polars",
                "value": ratio,
            }
        )
    peaks = {k: r.peak_rss_mib for k in labels if (r := runs.get(k)) and r.peak_rss_mib}
    for label, peak in peaks.items():
        targets.append(
            {
                "name": f"server peak RSS {label} < {RSS_TARGET_MIB:.0f} MiB",
                "verdict": "met" if peak < RSS_TARGET_MIB else "MISSED",
                "detail": f"{peak:.0f} MiB",
                "value": peak,
            }
        )
    if len(labels) == 2 and len(peaks) == 2:
        first, second = peaks[labels[0]], peaks[labels[1]]
        growth = second / first - 1
        targets.append(
            {
                "name": f"peak RSS flat {labels[0]} -> {labels[1]} (within +{FLAT_TOLERANCE:.0%})",
                "verdict": "met" if growth <= FLAT_TOLERANCE else "MISSED",
                "detail": f"{first:.0f} -> {second:.0f} MiB, {growth:+.0%}",
                "value": growth,
            }
        )
    return targets


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=DEFAULT_ROWS,
        help=f"rows in the 1x file (default {DEFAULT_ROWS:,})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the CSVs are kept (var/bench)",
    )
    parser.add_argument(
        "--client",
        choices=["curl", "httpx"],
        default="curl" if shutil.which("curl") else "httpx",
        help="upload client (default curl when installed)",
    )
    parser.add_argument(
        "--worker-concurrency", type=int, default=None, help="WORKER_CONCURRENCY for the server"
    )
    parser.add_argument("--poll-interval", type=float, default=0.1, help="status poll, seconds")
    parser.add_argument("--task-timeout", type=float, default=1800, help="seconds per task")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each measurement; medians are reported (default 3)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary server folders")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")

    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "client": args.client,
        "repeat": args.repeat,
        "worker_concurrency": args.worker_concurrency
        if args.worker_concurrency is not None
        else os.environ.get("WORKER_CONCURRENCY", "default (2)"),
        "machine": machine_info(),
    }
    failures: list[str] = []
    inputs: list[InputFile] = []
    samples: dict[str, tuple[list[Baseline], list[ServiceRun]]] = {}
    workroot = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        inputs = [
            ensure_input("1x", args.data_dir, args.rows),
            ensure_input("2x", args.data_dir, 2 * args.rows),
        ]
        max_upload_mb = max(4096, math.ceil(max(f.size_bytes for f in inputs) / MIB) + 64)
        samples = {f.label: ([], []) for f in inputs}
        for attempt in range(1, args.repeat + 1):
            for source in inputs:
                step = f"{source.label} ({source.path.name}), run {attempt}/{args.repeat}"
                print(f"raw Polars on {step} ...", file=sys.stderr, flush=True)
                samples[source.label][0].append(run_baseline(source, workroot))
                print(f"service on {step} ...", file=sys.stderr, flush=True)
                workdir = workroot / f"server_{source.label}_{attempt}"
                run = run_service(
                    source,
                    workdir,
                    client=args.client,
                    max_upload_mb=max_upload_mb,
                    worker_concurrency=args.worker_concurrency,
                    poll_interval=args.poll_interval,
                    task_timeout=args.task_timeout,
                )
                samples[source.label][1].append(run)
                if not args.keep:
                    shutil.rmtree(workdir / "storage", ignore_errors=True)
                if not run.ok:
                    raise BenchError(f"service {source.label} run {attempt} failed; stopping")
    except BenchError as exc:
        failures.append(str(exc))
    finally:
        if args.keep:
            print(f"kept {workroot}", file=sys.stderr)
        else:
            shutil.rmtree(workroot, ignore_errors=True)
    meta["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    baselines = {f.label: combine_baselines(f, b) for f in inputs if (b := samples[f.label][0])}
    runs = {f.label: combine_runs(f, r) for f in inputs if (r := samples[f.label][1])}
    summary = print_report(inputs, baselines, runs, samples, meta)
    for failure in failures:
        print(f"FAILED: {failure}", flush=True)
    result = {
        **meta,
        "ok": not failures,
        "failures": failures,
        "files": [
            {
                **{k: v for k, v in asdict(f).items() if k != "path"},
                "path": str(f.path),
                "size_mb": f.size_bytes / MB,
                "raw_polars": asdict(baselines[f.label]) if f.label in baselines else None,
                "service": {
                    k: v
                    for k, v in asdict(runs[f.label]).items()
                    if k not in ("server_log", "error")
                }
                if f.label in runs
                else None,
                "ratio_service_to_raw": _ratio(
                    baselines.get(f.label), runs.get(f.label) or ServiceRun(f.label)
                ),
                "raw_polars_runs": [asdict(b) for b in samples.get(f.label, ([], []))[0]],
                "service_runs": [
                    {k: v for k, v in asdict(r).items() if k not in ("server_log", "error")}
                    for r in samples.get(f.label, ([], []))[1]
                ],
            }
            for f in inputs
        ],
        **summary,
    }
    print(json.dumps(result, default=str), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

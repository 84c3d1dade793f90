"""Upload + processing throughput of the ingestion service, against raw Polars on the same file.

Run it from the repository root (``make bench`` runs ``python bench/upload_throughput.py``):

    .venv/bin/python bench/upload_throughput.py                 # 5,000,000 rows (~670 MB) and 2x
    .venv/bin/python bench/upload_throughput.py --rows 200000   # a few seconds
    .venv/bin/python bench/upload_throughput.py --quick         # 20,000 rows, one run

One run does all of this:

1. Generates (or reuses, when the size and generator match) a 1x CSV of ``--rows`` rows and a
   2x CSV of twice as many under ``var/bench/`` with ``bench/generate_sales.py``.
2. Baseline: times ``pl.scan_csv(path, infer_schema_length=10000).sink_parquet(out,
   compression="zstd")`` on each file in a fresh Python subprocess (timed inside the child, so
   interpreter start-up is not counted) and records the child's peak RSS.
3. For each file, starts a fresh ``uvicorn backend.main:app`` (the flags of ``make run``) with a temporary SQLite database and
   storage folder, uploads the file with curl (streamed from disk), polls the task until it has
   succeeded, and measures the upload (until the 202) and end to end (until ``succeeded``). A
   thread samples the server's RSS (the process and any children, /proc VmRSS) every 50 ms; the
   kernel's own peak (VmHWM) is reported next to it.
   Steps 2 and 3 alternate per file and are repeated ``--repeat`` times (default 3, because a
   small shared machine is noisy); the table shows medians with the min-max spread, and the
   worst peak RSS.
4. Prints a table, the targets (service throughput >= 60% of raw Polars; server peak RSS under
   600 MiB and flat from 1x to 2x) and the machine, and writes every figure to
   ``bench/results/upload_throughput-<UTC time>.json``.

The exit status is non-zero only when something failed (generation, baseline, upload, a failed
task, a server that crashed); a missed target is reported, not treated as a failure.
Linux only (/proc).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    DATA_DIR,
    MB,
    MIB,
    REPO_ROOT,
    BenchError,
    Server,
    command_line,
    cpu_seconds,
    curl_upload,
    ensure_csv,
    json_or_text,
    load_average,
    log_problems,
    machine,
    process_tree,
    server_env,
    spread,
    status_kib,
    utc_now,
    uvicorn_server,
    wait_for_task,
    write_results,
)

DEFAULT_ROWS = 5_000_000
# The sizes of a run: the default, and --quick (a check that the script works, in seconds).
SIZES = {"full": {"rows": DEFAULT_ROWS, "repeat": 3}, "quick": {"rows": 20_000, "repeat": 1}}
# The files measured: a label and the size as a multiple of --rows.
SCENARIOS = {"1x": 1, "2x": 2}
RATIO_TARGET = 0.6  # issue "Speed": >= 0.6 of raw Polars
RSS_TARGET_MIB = 600.0  # and <= 600 MB, flat from 1x to 2x
# "Flat" from 1x to 2x: the 2x peak is at most this much above the 1x peak.
FLAT_TOLERANCE = 0.25

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


# --- input files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputFile:
    label: str
    path: Path
    rows: int
    size_bytes: int
    generated_seconds: float | None  # None: reused from an earlier run


def ensure_input(label: str, data_dir: Path, rows: int) -> InputFile:
    found = ensure_csv(rows, data_dir)
    return InputFile(label, found.path, rows, found.size_bytes, found.generated_seconds)


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


def tree_rss_bytes(pid: int) -> int:
    return sum(status_kib(p, "VmRSS") for p in process_tree(pid)) * 1024


def tree_hwm_bytes(pid: int) -> int:
    """The kernel's peak RSS of each process in the tree, summed (an upper bound for several)."""
    return sum(status_kib(p, "VmHWM") for p in process_tree(pid)) * 1024


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in process_tree(pid))


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


def upload(url: str, path: Path, datasource: str, client: str) -> tuple[int, dict[str, Any]]:
    """POST the file as multipart, streamed from disk. Returns the status code and JSON body."""
    if client == "curl":
        return curl_upload(url, path, datasource)
    with path.open("rb") as handle:
        response = httpx.post(
            f"{url}/api/ingest/upload",
            data={"datasource_name": datasource},
            files={"file": (path.name, handle, "text/csv")},
            timeout=httpx.Timeout(30, write=None, read=600),
        )
    return response.status_code, json_or_text(response.text)


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
    cwd: Path = REPO_ROOT,
    flags: tuple[str, ...] | None = None,
) -> ServiceRun:
    """One fresh server, one upload of `source`, measured; the server stopped after it. `cwd`
    is the checkout the server runs (its `backend` is imported: cwd is first on sys.path);
    `flags` uvicorn's (default: the Makefile's)."""
    run = ServiceRun(source.label)
    workdir.mkdir(parents=True, exist_ok=True)
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        "STORAGE_URL": str(workdir / "storage"),
        "MAX_UPLOAD_MB": str(max_upload_mb),
    }
    if worker_concurrency is not None:
        settings["WORKER_CONCURRENCY"] = str(worker_concurrency)
    env = server_env(settings, drop=("DATABASE_", "STORAGE_", "WORKER_", "MAX_UPLOAD_"))
    # An inherited PYTHONPATH could point at another checkout's `backend`: the server's own.
    env["PYTHONPATH"] = str(cwd)
    log = workdir / "server.log"
    run.server_log = str(log)
    crashed = False
    server: Server | None = None
    try:
        with uvicorn_server(env, log, grace=30, cwd=cwd, flags=flags) as server:
            try:
                measure(
                    run, server, source, workdir / "storage", client, poll_interval, task_timeout
                )
            finally:
                crashed = server.process.poll() is not None
    except BenchError as exc:
        run.error = str(exc)
    if server is not None:
        run.server_exit_code = server.process.returncode
    run.server_log_problems = log_problems(log)
    _judge_shutdown(run, crashed)
    if not run.ok:
        run.error = (run.error or "failed").strip() + f"\nserver log tail:\n{_tail(log)}"
    return run


def _judge_shutdown(run: ServiceRun, crashed: bool) -> None:
    if crashed:
        run.ok = False
        run.error = (run.error or "") + f" server exited during the run with {run.server_exit_code}"
    elif run.server_exit_code not in (None, 0, -signal.SIGTERM):
        # uvicorn re-raises the SIGTERM it handled, so -15 is a clean shutdown.
        run.ok = False
        run.error = (run.error or "") + f" server shutdown exit code {run.server_exit_code}"


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def measure(
    run: ServiceRun,
    server: Server,
    source: InputFile,
    storage: Path,
    client: str,
    poll_interval: float,
    task_timeout: float,
) -> None:
    """Uploads `source`, waits for its task, and fills `run` (raises BenchError on a failure)."""
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
        body = wait_for_task(
            server.url, run.task_id, task_timeout, poll_interval, server=server.process
        )
        t_end = time.monotonic()
        run.cpu_upload_seconds = cpu1 - cpu0
        run.cpu_processing_seconds = tree_cpu_seconds(pid) - cpu1
        run.vm_hwm_mib = tree_hwm_bytes(pid) / MIB
        _read_task(run, body)
        time.sleep(0.2)
    finally:
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
    dataset = storage / "datasets" / datasource / f"{run.task_id}.parquet"
    if not dataset.is_file():
        raise BenchError(f"the dataset {dataset} is missing")
    run.parquet_bytes = dataset.stat().st_size
    run.ok = True


def _read_task(run: ServiceRun, body: dict[str, Any]) -> None:
    """The task's status, rows and phases from its own timestamps."""
    run.final_status = str(body["status"])
    run.rows_read = body.get("rows_read")
    run.queue_seconds = _seconds_between(body, "created_at", "started_at")
    run.processing_seconds = _seconds_between(body, "started_at", "finished_at")
    loading = next((e["at"] for e in body.get("events", []) if e["status"] == "loading"), None)
    timeline = {**body, "loading_at": loading}
    run.convert_seconds = _seconds_between(timeline, "started_at", "loading_at")
    run.store_seconds = _seconds_between(timeline, "loading_at", "finished_at")


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


# --- report --------------------------------------------------------------------------------------


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


@dataclass
class Figures:
    """What the report's table reads: the files, and the combined and single runs per label."""

    sizes: dict[str, InputFile]
    baselines: dict[str, Baseline]
    runs: dict[str, ServiceRun]
    samples: dict[str, tuple[list[Baseline], list[ServiceRun]]]

    def base(self, label: str) -> Baseline | None:
        return self.baselines.get(label)

    def srv(self, label: str) -> ServiceRun:
        return self.runs.get(label) or ServiceRun(label)


# The report's rows: a name and the cell of a file's label.
TABLE: list[tuple[str, Callable[[Figures, str], str]]] = [
    ("file size (MB)", lambda f, k: _fmt(f.sizes[k].size_bytes / MB)),
    ("rows", lambda f, k: _fmt(f.sizes[k].rows)),
    ("raw Polars seconds", lambda f, k: _fmt(b.seconds if (b := f.base(k)) else None, 2)),
    (
        "  min-max over runs",
        lambda f, k: spread([b.seconds for b in f.samples.get(k, ([], []))[0]]),
    ),
    ("raw Polars MB/s", lambda f, k: _fmt(b.mb_per_s if (b := f.base(k)) else None)),
    ("raw Polars peak RSS (MiB)", lambda f, k: _fmt(b.peak_rss_mib if (b := f.base(k)) else None)),
    ("raw Polars CPU seconds", lambda f, k: _fmt(b.cpu_seconds if (b := f.base(k)) else None, 2)),
    ("service end-to-end seconds", lambda f, k: _fmt(f.srv(k).end_to_end_seconds, 2)),
    (
        "  min-max over runs",
        lambda f, k: spread(
            [t for r in f.samples.get(k, ([], []))[1] if (t := r.end_to_end_seconds)]
        ),
    ),
    ("service end-to-end MB/s", lambda f, k: _fmt(f.srv(k).end_to_end_mb_per_s)),
    ("  upload only (until 202) seconds", lambda f, k: _fmt(f.srv(k).upload_seconds, 2)),
    ("  upload only MB/s", lambda f, k: _fmt(f.srv(k).upload_mb_per_s)),
    ("  queued (created -> started) seconds", lambda f, k: _fmt(f.srv(k).queue_seconds, 2)),
    (
        "  processing (started -> finished) seconds",
        lambda f, k: _fmt(f.srv(k).processing_seconds, 2),
    ),
    ("    CSV -> Parquet (until loading) seconds", lambda f, k: _fmt(f.srv(k).convert_seconds, 2)),
    ("    storing the Parquet seconds", lambda f, k: _fmt(f.srv(k).store_seconds, 2)),
    ("  server CPU seconds: upload", lambda f, k: _fmt(f.srv(k).cpu_upload_seconds, 2)),
    ("  server CPU seconds: processing", lambda f, k: _fmt(f.srv(k).cpu_processing_seconds, 2)),
    (
        f"ratio service/raw throughput (target >= {RATIO_TARGET})",
        lambda f, k: _fmt(_ratio(f.base(k), f.srv(k)), 2),
    ),
    ("server RSS idle (MiB)", lambda f, k: _fmt(f.srv(k).idle_rss_mib)),
    (
        f"server peak RSS sampled (MiB, target < {RSS_TARGET_MIB:.0f})",
        lambda f, k: _fmt(f.srv(k).peak_rss_mib),
    ),
    ("  peak during upload (MiB)", lambda f, k: _fmt(f.srv(k).peak_rss_upload_mib)),
    ("  peak during processing (MiB)", lambda f, k: _fmt(f.srv(k).peak_rss_processing_mib)),
    ("server VmHWM, kernel peak (MiB)", lambda f, k: _fmt(f.srv(k).vm_hwm_mib)),
    ("parquet written (MB)", lambda f, k: _fmt((f.srv(k).parquet_bytes or 0) / MB or None)),
    (
        "result",
        lambda f, k: ("ok" if r.ok else "FAILED") if (r := f.runs.get(k)) else "not run",
    ),
]


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

    figures = Figures({f.label: f for f in inputs}, baselines, runs, samples)
    lines = [
        "",
        f"Upload + processing throughput: median of {repeats} run(s), peaks are the maximum "
        "(MB = 10^6 bytes, MiB = 2^20 bytes)",
        row("", labels),
        *(row(name, [cell(figures, k) for k in labels]) for name, cell in TABLE),
    ]
    targets = _targets(labels, baselines, runs)
    lines += ["", "Targets (reported, never a failure):"]
    lines += [f"  {t['name']}: {t['verdict']} ({t['detail']})" for t in targets]
    lines += [
        "",
        f"machine: {meta['machine']['nproc']} CPUs ({meta['machine']['cpu']}), "
        f"{meta['machine']['memory_gib']} GiB RAM, Linux {meta['machine']['kernel']}; "
        f"load average {meta['machine']['load_before']} at start, "
        f"{meta['machine']['load_after']} at end",
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one run")
    parser.add_argument("--rows", type=int, help=f"rows in the 1x file (default {DEFAULT_ROWS:,})")
    parser.add_argument(
        "--data-dir", type=Path, default=DATA_DIR, help="where the CSVs are kept (var/bench)"
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
        "--repeat", type=int, help="runs of each measurement; medians are reported (default 3)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary server folders")
    args = parser.parse_args(argv)
    for name, value in SIZES["quick" if args.quick else "full"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")
    return args


Samples = dict[str, tuple[list[Baseline], list[ServiceRun]]]


def run_all(
    args: argparse.Namespace, inputs: list[InputFile], workroot: Path, samples: Samples
) -> None:
    """Raw Polars and the service, alternating per file, `--repeat` times, into `samples`;
    raises BenchError when a service run failed (what was measured stays in `samples`)."""
    max_upload_mb = max(4096, math.ceil(max(f.size_bytes for f in inputs) / MIB) + 64)
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


def _service_fields(run: ServiceRun) -> dict[str, Any]:
    return {k: v for k, v in asdict(run).items() if k not in ("server_log", "error")}


def file_record(
    f: InputFile, baselines: dict[str, Baseline], runs: dict[str, ServiceRun], samples: Samples
) -> dict[str, Any]:
    return {
        **{k: v for k, v in asdict(f).items() if k != "path"},
        "path": str(f.path),
        "size_mb": f.size_bytes / MB,
        "raw_polars": asdict(baselines[f.label]) if f.label in baselines else None,
        "service": _service_fields(runs[f.label]) if f.label in runs else None,
        "ratio_service_to_raw": _ratio(
            baselines.get(f.label), runs.get(f.label) or ServiceRun(f.label)
        ),
        "raw_polars_runs": [asdict(b) for b in samples.get(f.label, ([], []))[0]],
        "service_runs": [_service_fields(r) for r in samples.get(f.label, ([], []))[1]],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = utc_now()
    meta: dict[str, Any] = {
        "date": started.isoformat(),
        "command": command_line(),
        "python": sys.version.split()[0],
        "polars": pl.__version__,
        "client": args.client,
        "repeat": args.repeat,
        "worker_concurrency": args.worker_concurrency
        if args.worker_concurrency is not None
        else os.environ.get("WORKER_CONCURRENCY", "default (2)"),
        "machine": machine("polars", "uvicorn"),
    }
    failures: list[str] = []
    inputs: list[InputFile] = []
    samples: Samples = {}
    workroot = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        inputs = [ensure_input(k, args.data_dir, n * args.rows) for k, n in SCENARIOS.items()]
        samples = {f.label: ([], []) for f in inputs}
        run_all(args, inputs, workroot, samples)
    except BenchError as exc:
        failures.append(str(exc))
    finally:
        if args.keep:
            print(f"kept {workroot}", file=sys.stderr)
        else:
            shutil.rmtree(workroot, ignore_errors=True)
    meta["machine"]["load_after"] = load_average()

    baselines = {f.label: combine_baselines(f, b) for f in inputs if (b := samples[f.label][0])}
    runs = {f.label: combine_runs(f, r) for f in inputs if (r := samples[f.label][1])}
    summary = print_report(inputs, baselines, runs, samples, meta)
    for failure in failures:
        print(f"FAILED: {failure}", flush=True)
    files = [file_record(f, baselines, runs, samples) for f in inputs]
    record = {**meta, "ok": not failures, "failures": failures, "files": files, **summary}
    write_results("upload_throughput", record, started)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

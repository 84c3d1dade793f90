"""Druid rollup: upload -> queryable with the rolled-up datasource beside the raw one (this
worktree) against the raw one alone (the code before the rollup, /work/wt/before or --before),
alternating in one run (--beside: also a checkout that loads the rollup beside the raw rows,
whose upload succeeds only when both are queryable); then salesSummary's figures straight on Druid, raw rows vs rollup.

    DRUID_URL=http://127.0.0.1:8888 .venv/bin/python bench/druid_rollup.py            # 300k rows
    DRUID_URL=... .venv/bin/python bench/druid_rollup.py --quick                      # 20k rows

One run:
1. For each round, for "before" and "after" in alternating order: starts uvicorn (cwd = that
   checkout) on a fresh SQLite database and storage folder with DRUID_URL set, uploads a
   generated file of --rows rows with curl and reads the task's phases (bench/druid_pipeline.py);
   then --repeat uncached warehouse-mode salesSummary requests (p50, p95).
2. On the "after" run's datasources: --repeat Druid SQL queries for salesSummary's total and
   count (a different dateTo each), sent straight to DRUID_URL, on the raw datasource and on its
   rollup: p50, p95 and the ratio.
Prints a table and writes bench/results/druid_rollup-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.druid_pipeline import FIELDS, field_latency, set_mode, upload  # noqa: E402
from bench.harness import (  # noqa: E402
    REPO_ROOT,
    BenchError,
    ensure_csv,
    free_port,
    machine,
    ms,
    server_env,
    utc_now,
    uvicorn_server,
    write_results,
)

SIZES = {"full": {"rows": 300_000, "repeat": 15}, "quick": {"rows": 20_000, "repeat": 3}}
BEFORE = Path("/work/wt/before")


def one_side(
    cwd: Path, druid_url: str, big: Path, repeat: int
) -> tuple[dict[str, Any], dict[str, float], str]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-rollup-"))
    port = free_port()
    prefix = f"bench{uuid.uuid4().hex[:8]}_"
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        "STORAGE_URL": str(workdir / "storage"),
        "CACHE_DIR": str(workdir / "cache"),
        "MAX_UPLOAD_MB": "4096",
        "ANALYTICS_CACHE_ENTRIES": "0",
        "DRUID_URL": druid_url,
        "DRUID_DATASOURCE_PREFIX": prefix,
        "DRUID_DATA_BASE_URL": f"http://127.0.0.1:{port}",
        "DRUID_POLL_SECONDS": "0.5",
    }
    try:
        log = workdir / "server.log"
        with uvicorn_server(server_env(settings), log, port=port, grace=30, cwd=cwd) as server:
            started = time.perf_counter()
            load = upload(server.url, big)
            load["upload to queryable"] = time.perf_counter() - started
            report = rollup_recorded(server.url, str(load.pop("task")["task_id"]))
            # null on a checkout without rollups (nothing to wait for)
            load["upload to rollup recorded"] = (
                time.perf_counter() - started if report.get("rollup") else None
            )
            load["rollup"] = "missing" if report.get("rollup_missing") else report.get("rollup")
            set_mode(server.url, "warehouse")
            with httpx.Client(base_url=server.url, timeout=120) as client:
                field_latency(client, FIELDS["salesSummary"], 2)
                latency = field_latency(client, FIELDS["salesSummary"], repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return load, latency, prefix


def rollup_recorded(url: str, task_id: str, timeout: float = 1800) -> dict[str, Any]:
    """The task's Druid report once its rollup is recorded or said missing (this worktree loads
    it after the task succeeded); at once on a checkout whose success includes it, or without."""
    deadline = time.monotonic() + timeout
    while True:
        task = httpx.get(f"{url}/api/ingest/status/{task_id}", timeout=60).json()
        report: dict[str, Any] = task.get("druid_report") or {}
        planned = report.get("rollup")
        if not isinstance(planned, dict) or report.get("rollup_missing"):
            return report
        if "rows_queryable" in planned or "wait_seconds" not in planned:
            return report  # recorded, or loaded beside the raw rows before the success
        if time.monotonic() > deadline:
            raise BenchError(f"task {task_id}: rollup unrecorded after {timeout:.0f} s")
        time.sleep(0.5)


def straight(druid_url: str, table: str, total: str, count: str, repeat: int) -> dict[str, float]:
    sql = f'SELECT SUM("{total}"), {count} FROM "{table}" WHERE "__time" >= ? AND "__time" < ?'
    low = int(dt.datetime(2018, 12, 1, tzinfo=dt.UTC).timestamp() * 1000)
    samples: list[float] = []
    with httpx.Client(timeout=120) as client:
        for i in range(repeat + 2):
            day = dt.datetime(2019, 4, 2, tzinfo=dt.UTC) + dt.timedelta(days=i)
            high = int(day.timestamp() * 1000)
            parameters = [{"type": "TIMESTAMP", "value": v} for v in (low, high)]
            started = time.perf_counter()
            answer = client.post(
                f"{druid_url}/druid/v2/sql",
                json={"query": sql, "parameters": parameters, "resultFormat": "array"},
            )
            if answer.status_code != 200:
                raise BenchError(f"Druid SQL on {table}: {answer.status_code} {answer.text[:300]}")
            if i >= 2:  # the first two warm the broker
                samples.append(time.perf_counter() - started)
    return ms(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--druid-url", default=None, help="default: $DRUID_URL")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 requests")
    parser.add_argument("--rows", type=int, help="rows of the file (default 300,000)")
    parser.add_argument("--repeat", type=int, help="requests per figure (default 15)")
    parser.add_argument("--rounds", type=int, default=1, help="before/after pairs (default 1)")
    parser.add_argument("--before", type=Path, default=BEFORE, help="the checkout without rollups")
    parser.add_argument(
        "--beside",
        type=Path,
        help="also a checkout loading the rollup beside the raw rows (e.g. main at 8ab5780)",
    )
    args = parser.parse_args(argv)
    for name, value in SIZES["quick" if args.quick else "full"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    druid_url = (args.druid_url or os.environ.get("DRUID_URL") or "").rstrip("/")
    if not druid_url:
        print("set DRUID_URL (make druid prints it) or pass --druid-url", file=sys.stderr)
        return 2
    big = ensure_csv(args.rows).path
    runs: list[dict[str, Any]] = []
    prefix = ""
    for index in range(args.rounds):
        order = ["before", "after"] + (["beside"] if args.beside else [])
        order = order if index % 2 == 0 else order[::-1]
        for side in order:
            cwd = {"before": args.before, "after": REPO_ROOT, "beside": args.beside}[side]
            load, latency, used = one_side(cwd, druid_url, big, args.repeat)
            runs.append({"side": side, "load": load, "salesSummary_ms": latency})
            prefix = used if side == "after" else prefix
    raw = f"{prefix}sales"
    direct = {
        "raw": straight(druid_url, raw, "Total", "COUNT(*)", args.repeat),
        "rollup": straight(druid_url, f"{raw}-rollup", "__sum:Total", 'SUM("__rows")', args.repeat),
    }
    record = {
        "when": utc_now(),
        "machine": machine("httpx"),
        "rows": args.rows,
        "repeat": args.repeat,
        "runs": runs,
        "straight_to_druid_ms": direct,
    }
    report(record)
    write_results("druid_rollup", record)
    return 0


def report(record: dict[str, Any]) -> None:
    rows = record["rows"]
    print(f"\nUpload -> queryable in Druid, {rows:,} rows (seconds)")
    print(
        "| side | submit to SUCCESS | SUCCESS to queryable | upload to queryable "
        "| upload to rollup recorded | rollup |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for run in record["runs"]:
        load = run["load"]
        cells = [load.get("druid submit to SUCCESS"), load.get("druid SUCCESS to loaded")]
        text = " | ".join("-" if v is None else f"{v:.2f}" for v in cells)
        rolled = "loaded" if isinstance(load["rollup"], dict) else load["rollup"] or "none"
        recorded = load.get("upload to rollup recorded")
        after = "-" if recorded is None else f"{recorded:.2f}"
        print(
            f"| {run['side']} | {text} | {load['upload to queryable']:.2f} | {after} | {rolled} |"
        )
    print(f"\nWarehouse-mode salesSummary over HTTP, uncached, {record['repeat']} requests (ms)")
    print("| side | p50 | p95 |")
    print("|---|---:|---:|")
    for run in record["runs"]:
        figures = run["salesSummary_ms"]
        print(f"| {run['side']} | {figures['p50']:.1f} | {figures['p95']:.1f} |")
    direct = record["straight_to_druid_ms"]
    ratio = direct["rollup"]["p50"] / direct["raw"]["p50"]
    print("\nsalesSummary's total and count, Druid SQL straight to Druid (ms)")
    print("| datasource | p50 | p95 |")
    print("|---|---:|---:|")
    for name in ("raw", "rollup"):
        print(f"| {name} | {direct[name]['p50']:.1f} | {direct[name]['p95']:.1f} |")
    print(f"rollup / raw p50: {ratio:.2f}")


if __name__ == "__main__":
    sys.exit(main())

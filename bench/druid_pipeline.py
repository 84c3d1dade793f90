"""Druid: upload -> queryable in Druid per phase, and dashboard latency from Druid beside the
embedded engine, in one run.

Run it from the repository root with a Druid running (`make druid` prints its URL):

    DRUID_URL=http://127.0.0.1:8888 .venv/bin/python bench/druid_pipeline.py
    DRUID_URL=... .venv/bin/python bench/druid_pipeline.py --rows 200000 --repeat 5
    DRUID_URL=... .venv/bin/python bench/druid_pipeline.py --quick   # 20,000 rows, 3 requests
    DRUID_URL=... .venv/bin/python bench/druid_pipeline.py --rows 300000 --ingest  # + tuning

One run:
1. Starts `uvicorn backend.main:app` (the flags of `make run`) on a fresh SQLite database and storage folder, with
   DRUID_URL set, a Druid datasource prefix of its own and the result cache off.
2. Uploads data.csv, then a generated file of --rows rows (1,000,000 by default), each with curl,
   and reads the phases from the task's events: upload (the HTTP request), validate (validating
   to loading), write (loading to druid_submitting: Parquet and the Druid copy stored), submit to
   SUCCESS (druid_submitting to druid_loading), SUCCESS to loaded (druid_loading to succeeded).
   Then waits until both uploads' rolled-up rows are recorded (Druid idle again).
3. For every dashboard field, --repeat uncached requests in standalone mode (embedded engine)
   and the same in warehouse mode (Druid), over the large file's rows: p50 and p95 each, and the
   ratio Druid / embedded.
4. With --ingest: Druid's own index_parallel of the same rows submitted by hand per input format
   and tuning (bench/druid_ingest.py), and our overhead = upload -> queryable minus Druid's own.
Prints a table and writes every figure to bench/results/druid_pipeline-<UTC time>.json; exits
non-zero only when something failed.
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
from bench.harness import (  # noqa: E402
    REPO_ROOT,
    BenchError,
    curl_upload,
    ensure_csv,
    free_port,
    machine,
    ms,
    run_main,
    server_env,
    utc_now,
    uvicorn_server,
    wait_for_task,
    write_results,
)

# The sizes of a run: the default, and --quick (a check that the script works).
SIZES = {"full": {"rows": 1_000_000, "repeat": 15}, "quick": {"rows": 20_000, "repeat": 3}}

FIELDS = {
    "salesSummary": "salesSummary(filter: $f) { totalSales transactions }",
    "salesTrend(DAY)": "salesTrend(granularity: DAY, filter: $f) { period totalSales }",
    "salesByBranch": "salesByBranch(filter: $f) { key totalSales }",
    "salesByProductLine": "salesByProductLine(filter: $f) { key totalSales }",
    "salesByPayment": "salesByPayment(filter: $f) { key totalSales }",
    "profitability(MONTH)": "profitability(by: MONTH, filter: $f) { key margin }",
    "topProductLines": "topProductLines(limit: 3, filter: $f) { productLine value }",
    "ratingDistribution": "ratingDistribution(bins: 10, filter: $f) { count }",
    "salesHeatmap": "salesHeatmap(filter: $f) { hour totalSales }",
    "rowCount": "rowCount(filter: $f)",
    "rows(first: 100)": "rows(first: 100, filter: $f) { totalCount }",
}
PHASES = [
    ("validate", "validating", "loading"),
    ("write", "loading", "druid_submitting"),
    ("druid submit to SUCCESS", "druid_submitting", "druid_loading"),
    ("druid SUCCESS to loaded", "druid_loading", "succeeded"),
]


def upload(url: str, path: Path, datasource: str = "sales") -> dict[str, Any]:
    started = time.perf_counter()
    code, body = curl_upload(url, path, datasource)
    upload_seconds = time.perf_counter() - started
    if code != 202:
        raise BenchError(f"{path.name}: the upload answered {code}: {body}")
    task = wait_for_task(url, str(body["task_id"]), timeout=1800)
    if task["status"] != "succeeded":
        raise BenchError(f"{path.name}: {task['status']}: {task.get('error')}")
    return {"upload": upload_seconds, **phases(task), "task": task}


def phases(task: dict[str, Any]) -> dict[str, float | None]:
    first: dict[str, dt.datetime] = {}
    for event in task["events"]:
        first.setdefault(event["status"], dt.datetime.fromisoformat(event["at"]))
    found: dict[str, float | None] = {}
    for name, start, end in PHASES:
        found[name] = (
            (first[end] - first[start]).total_seconds() if start in first and end in first else None
        )
    return found


def field_latency(client: httpx.Client, field: str, repeat: int) -> dict[str, float]:
    query = f"query($f: SalesFilter) {{ {field} }}"
    samples: list[float] = []
    for i in range(repeat):
        # A different (all-covering) dateTo each time: a cache miss on every request.
        day = (dt.date(2019, 4, 1) + dt.timedelta(days=i)).isoformat()
        variables = {"f": {"dateFrom": "2018-12-01", "dateTo": day}}
        started = time.perf_counter()
        response = client.post("/graphql", json={"query": query, "variables": variables})
        samples.append(time.perf_counter() - started)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise BenchError(f"{field}: {response.status_code} {str(body)[:500]}")
    return ms(samples)


def wait_rollup(url: str, task_id: str, timeout: float = 3600) -> float | None:
    """Seconds until the task's rolled-up rows are recorded (the engine answers from them from
    then on); None when the code planned no rollup (before this issue) or said it is missing."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        body = httpx.get(f"{url}/api/ingest/status/{task_id}", timeout=30).json()
        report = body.get("druid_report") or {}
        planned = report.get("rollup")
        if not planned or "rollup_missing" in report:
            if planned:
                print(f"task {task_id}: {report['rollup_missing']}", file=sys.stderr, flush=True)
            return None
        if "rows_queryable" in planned:
            return time.perf_counter() - started
        time.sleep(0.5)
    raise BenchError(f"task {task_id}: rollup still unrecorded after {timeout:.0f} s")


def set_mode(url: str, mode: str) -> None:
    answer = httpx.post(f"{url}/api/sigma/toggle-mode", json={"mode": mode}, timeout=60)
    if answer.status_code != 200:
        raise BenchError(f"cannot switch to {mode}: {answer.text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--druid-url", default=None, help="default: $DRUID_URL")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 requests per field")
    parser.add_argument("--rows", type=int, help="rows of the large file (default 1,000,000)")
    parser.add_argument("--repeat", type=int, help="requests per field and mode (default 15)")
    parser.add_argument(
        "--ingest",
        action="store_true",
        help="also Druid's own index_parallel of the same rows by hand, per input format and "
        "tuning (bench/druid_ingest.py), and our overhead beside it",
    )
    parser.add_argument(
        "--ingest-variants",
        action="store_true",
        help="with --ingest: every input format and tuning of bench/druid_ingest.py, not only "
        "the service's own (json.gz, defaults)",
    )
    args = parser.parse_args(argv)
    for name, value in SIZES["quick" if args.quick else "full"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    druid_url = args.druid_url or os.environ.get("DRUID_URL")
    if not druid_url:
        print("set DRUID_URL (make druid prints it) or pass --druid-url", file=sys.stderr)
        return 2
    big = ensure_csv(args.rows).path
    workdir = Path(tempfile.mkdtemp(prefix="bench-druid-"))
    port = free_port()
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        "STORAGE_URL": str(workdir / "storage"),
        "CACHE_DIR": str(workdir / "cache"),
        "MAX_UPLOAD_MB": "4096",
        "ANALYTICS_CACHE_ENTRIES": "0",
        "DRUID_URL": druid_url,
        "DRUID_BROKER_URL": os.environ.get("DRUID_BROKER_URL", ""),
        "DRUID_DATASOURCE_PREFIX": f"bench{uuid.uuid4().hex[:8]}_",
        "DRUID_DATA_BASE_URL": f"http://127.0.0.1:{port}",
        "DRUID_POLL_SECONDS": "0.5",
    }
    try:
        log = workdir / "server.log"
        with uvicorn_server(server_env(settings), log, port=port, grace=30) as server:
            loads, latency = measure(server.url, big, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(loads, latency, args)
    if args.ingest:
        overhead(loads[f"{args.rows:,} rows"], druid_url, args.rows, args.ingest_variants)
    return 0


def overhead(load: dict[str, Any], druid_url: str, rows: int, all_variants: bool) -> None:
    """Druid's own index_parallel of the same rows (the service's default format first) and
    our overhead: upload -> queryable minus Druid's submit -> loaded."""
    import asyncio

    from bench import druid_ingest

    names = None if all_variants else ["json.gz, defaults"]
    found = asyncio.run(druid_ingest.measure(druid_url, rows, names))
    druid_ingest.report(rows, found)
    ours = sum(v for n, v in load.items() if n != "task" and isinstance(v, float))
    hand = found["json.gz, defaults"]
    druid = hand["submit_to_success"] + hand["success_to_loaded"]
    print(
        f"\nupload -> queryable {ours:.2f} s, Druid's own (json.gz) {druid:.2f} s: our overhead "
        f"{ours - druid:.2f} s = {(ours - druid) / ours * 100:.0f}% of the total"
    )
    write_results("druid_ingest", {"rows": rows, "ours": load, "by_hand": found}, utc_now())


Latency = dict[str, dict[str, dict[str, float]]]


def measure(url: str, big: Path, args: argparse.Namespace) -> tuple[dict[str, Any], Latency]:
    """Both uploads, then every field in both modes."""
    loads = {
        # A datasource of its own: the generated rows may hold data.csv's invoices.
        "data.csv (1,000 rows)": upload(url, REPO_ROOT / "data.csv", "bench_small"),
        f"{args.rows:,} rows": upload(url, big),
    }
    # Dashboards read the rollup once it is recorded, and Druid's own load (--ingest) must not
    # share the indexer with it: wait for both uploads' rollups.
    for label, load in loads.items():
        waited = wait_rollup(url, load["task"]["task_id"])
        print(f"{label}: rollup recorded {waited or 0:.1f} s later", file=sys.stderr, flush=True)
    latency: Latency = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for mode in ("standalone", "warehouse"):
            set_mode(url, mode)
            for name, field in FIELDS.items():
                field_latency(client, field, 2)  # warm both engines' first-query costs
                latency.setdefault(name, {})[mode] = field_latency(client, field, args.repeat)
    return loads, latency


def report(
    loads: dict[str, dict[str, Any]],
    latency: dict[str, dict[str, dict[str, float]]],
    args: argparse.Namespace,
) -> None:
    print("\nUpload -> queryable in Druid (seconds per phase)")
    names = ["upload"] + [p[0] for p in PHASES]
    print("| file | " + " | ".join(names) + " | total |")
    print("|---|" + "---:|" * (len(names) + 1))
    for label, load in loads.items():
        values = [load[n] for n in names]
        total = sum(v for v in values if v is not None)
        cells = " | ".join("-" if v is None else f"{v:.2f}" for v in values)
        print(f"| {label} | {cells} | {total:.2f} |")
    print(f"\nDashboard p50 / p95 ms, uncached, {args.rows:,} rows, {args.repeat} requests each")
    print("| field | embedded p50 | embedded p95 | Druid p50 | Druid p95 | Druid / embedded |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, modes in latency.items():
        embedded, druid = modes["standalone"], modes["warehouse"]
        print(
            f"| {name} | {embedded['p50']:.1f} | {embedded['p95']:.1f} | {druid['p50']:.1f} | "
            f"{druid['p95']:.1f} | {druid['p50'] / embedded['p50']:.2f} |"
        )
    started = utc_now()
    summary = {
        "machine": machine("polars", "httpx", "uvicorn"),
        "date": started.isoformat(),
        "loads": {k: {n: v for n, v in load.items() if n != "task"} for k, load in loads.items()},
        "druid_rows": {k: load["task"]["druid_report"] for k, load in loads.items()},
        "latency_ms": latency,
    }
    write_results("druid_pipeline", summary, started)


if __name__ == "__main__":
    run_main(main)

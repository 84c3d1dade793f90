"""Druid: upload -> queryable in Druid per phase, and dashboard latency from Druid beside the
embedded engine, in one run.

Run it from the repository root with a Druid running (`make druid` prints its URL):

    DRUID_URL=http://127.0.0.1:8888 .venv/bin/python bench/druid_pipeline.py
    DRUID_URL=... .venv/bin/python bench/druid_pipeline.py --rows 200000 --repeat 5   # quick

One run:
1. Starts `uvicorn backend.main:app` on a fresh SQLite database and storage folder, with
   DRUID_URL set, a Druid datasource prefix of its own and the result cache off.
2. Uploads data.csv, then a generated file of --rows rows (1,000,000 by default), each with curl,
   and reads the phases from the task's events: upload (the HTTP request), validate (validating
   to loading), write (loading to druid_submitting: Parquet and the Druid copy stored), submit to
   SUCCESS (druid_submitting to druid_loading), SUCCESS to loaded (druid_loading to succeeded).
3. For every dashboard field, --repeat uncached requests in standalone mode (embedded engine)
   and the same in warehouse mode (Druid), over the large file's rows: p50 and p95 each, and the
   ratio Druid / embedded.
Prints a table and a final JSON line; exits non-zero only when something failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO_ROOT, BenchError, ensure_csv, free_port, machine, ms, start_server

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


def upload(url: str, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    sent = subprocess.run(
        ["curl", "-sS", "-F", f"file=@{path}", "-F", "datasource_name=sales"]
        + [f"{url}/api/ingest/upload"],
        capture_output=True,
        text=True,
        check=True,
    )
    upload_seconds = time.perf_counter() - started
    task_id = json.loads(sent.stdout)["task_id"]
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        task: dict[str, Any] = httpx.get(f"{url}/api/ingest/status/{task_id}", timeout=30).json()
        if task["status"] == "succeeded":
            return {"upload": upload_seconds, **phases(task), "task": task}
        if task["status"] in ("failed", "cancelled"):
            raise BenchError(f"{path.name}: {task['status']}: {task.get('error')}")
        time.sleep(0.2)
    raise BenchError(f"{path.name} did not finish within 30 minutes")


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
    samples = []
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


def set_mode(url: str, mode: str) -> None:
    answer = httpx.post(f"{url}/api/sigma/toggle-mode", json={"mode": mode}, timeout=60)
    if answer.status_code != 200:
        raise BenchError(f"cannot switch to {mode}: {answer.text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--druid-url", default=None, help="default: $DRUID_URL")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    druid_url = args.druid_url or os.environ.get("DRUID_URL")
    if not druid_url:
        print("set DRUID_URL (make druid prints it) or pass --druid-url", file=sys.stderr)
        return 2
    big = ensure_csv(args.rows)
    workdir = Path(tempfile.mkdtemp(prefix="bench-druid-"))
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        "STORAGE_URL": str(workdir / "storage"),
        "CACHE_DIR": str(workdir / "cache"),
        "MAX_UPLOAD_MB": "4096",
        "ANALYTICS_CACHE_ENTRIES": "0",
        "DRUID_URL": druid_url,
        "DRUID_DATASOURCE_PREFIX": f"bench{uuid.uuid4().hex[:8]}_",
        "DRUID_DATA_BASE_URL": f"http://127.0.0.1:{port}",
        "DRUID_POLL_SECONDS": "0.5",
    }
    process, url = start_server(env, workdir / "server.log", port)
    try:
        loads = {
            "data.csv (1,000 rows)": upload(url, REPO_ROOT / "data.csv"),
            f"{args.rows:,} rows": upload(url, big),
        }
        latency: dict[str, dict[str, dict[str, float]]] = {}
        with httpx.Client(base_url=url, timeout=120) as client:
            for mode in ("standalone", "warehouse"):
                set_mode(url, mode)
                for name, field in FIELDS.items():
                    field_latency(client, field, 2)  # warm both engines' first-query costs
                    latency.setdefault(name, {})[mode] = field_latency(client, field, args.repeat)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    report(loads, latency, args)
    return 0


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
    summary = {
        "machine": machine("polars", "httpx", "uvicorn"),
        "date": dt.date.today().isoformat(),
        "loads": {k: {n: v for n, v in load.items() if n != "task"} for k, load in loads.items()},
        "druid_rows": {k: load["task"]["druid_report"] for k, load in loads.items()},
        "latency_ms": latency,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(1)

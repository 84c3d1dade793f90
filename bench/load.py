"""Load on loopback: many concurrent clients reading dashboards and uploading files while one
deliberately heavy query runs, and a prober timing /healthz throughout.

    .venv/bin/python bench/load.py --clients 200 --seconds 30    # a throwaway server of its own
    .venv/bin/python bench/load.py --quick                       # 20 clients for 5 s
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000   # a server already running

Without --url it starts ``uvicorn backend.main:app`` (the flags of ``make run``) on a fresh
SQLite database and storage folder, with data.csv loaded, as tests/e2e/test_load.py does.
Prints request counts and latency percentiles per kind, 5xx answers, the slowest /healthz, and
what became of every upload the server accepted (all must end `succeeded`: none lost). The test
suite runs the same load (tests/e2e/test_load.py) and asserts the outcomes; timings are recorded
in bench/RESULTS.md, not asserted there except the liveness bound. The figures are written to
bench/results/load-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.generate_sales import HEADER, invoice_id, sales_rows  # noqa: E402
from bench.harness import (  # noqa: E402
    REPO_ROOT,
    TaskTimeout,
    machine,
    ms,
    server_env,
    upload_and_wait,
    utc_now,
    uvicorn_server,
    wait_for_task,
    write_results,
)

READS = [
    "query($f: SalesFilter) { salesSummary(filter: $f) { totalSales transactions } }",
    "query($f: SalesFilter) { salesByBranch(filter: $f) { key totalSales } }",
    "query($f: SalesFilter) { salesTrend(granularity: DAY, filter: $f) { totalSales } }",
    "query($f: SalesFilter) { rows(first: 50, filter: $f) { totalCount } }",
]
# As heavy as one request may be: the alias limit's worth (GRAPHQL_MAX_ALIASES, 30) of hourly
# trends, each over its own week so none is answered from another's cache entry.
HEAVY = (
    "{ "
    + " ".join(
        f"a{i}: salesTrend(granularity: HOUR, filter: "
        f'{{dateFrom: "2019-01-{1 + i % 28:02d}", dateTo: "2019-02-{1 + i % 28:02d}"}})'
        " { totalSales }"
        for i in range(30)
    )
    + " }"
)
BRANCHES = (["A"], ["B"], ["C"], ["A", "B"], None)


@dataclass
class LoadReport:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # task ids answered 202
    outcomes: dict[str, str] = field(default_factory=dict)
    healthz_worst: float = 0.0
    heavy_runs: int = 0
    heavy_refused: list[str] = field(default_factory=list)  # GraphQL errors of the heavy query
    retried: int = 0  # reads sent again after the server closed an idle keep-alive connection

    def summary(self) -> dict[str, Any]:
        return {
            "requests": {k: ms(v) | {"p99": _p99(v)} for k, v in self.latencies.items() if v},
            "statuses": dict(self.statuses),
            "server_errors": self.server_errors[:10],
            "uploads_accepted": len(self.accepted),
            "uploads_by_outcome": _count(self.outcomes.values()),
            "healthz_worst_ms": round(self.healthz_worst * 1000, 1),
            "heavy_queries": self.heavy_runs,
            "heavy_refused": self.heavy_refused[:3],
            "reads_retried": self.retried,
        }


def _p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _count(values: Any) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for value in values:
        found[value] += 1
    return dict(found)


# Invoice IDs of the uploads made under load: unique per (seed, row), in a range no generated
# file with a small seed uses (Invoice ID is unique per datasource).
LOAD_FIRST_INVOICE = 100_000_000


def csv_file(seed: int, rows: int = 40) -> bytes:
    lines = [",".join(HEADER)]
    for index, row in enumerate(sales_rows(rows, seed)):
        row[0] = invoice_id(LOAD_FIRST_INVOICE + seed * 1000 + index)
        lines.append(",".join(row))
    return ("\n".join(lines) + "\n").encode()


async def _timed(
    report: LoadReport,
    kind: str,
    send: Callable[[], Awaitable[httpx.Response]],
    retry: bool = False,
) -> httpx.Response | None:
    """Send, time and classify. A read may be sent again once when the connection it went out
    on had been closed by the server (keep-alive expiry racing the reuse), as browsers do."""
    started = time.perf_counter()
    try:
        try:
            response = await send()
        except (httpx.ReadError, httpx.RemoteProtocolError):
            if not retry:
                raise
            report.retried += 1
            response = await send()
    except httpx.HTTPError as exc:
        report.server_errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        return None
    report.latencies[kind].append(time.perf_counter() - started)
    report.statuses[response.status_code] += 1
    if response.status_code >= 500:
        report.server_errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
    return response


async def reader(client: httpx.AsyncClient, report: LoadReport, stop: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < stop:
        day = f"2019-0{rng.randrange(1, 4)}-{rng.randrange(1, 29):02d}"
        variables = {"f": {"dateTo": day, "branches": rng.choice(BRANCHES)}}
        body = {"query": rng.choice(READS), "variables": variables}
        await _timed(
            report,
            "graphql read",
            functools.partial(client.post, "/graphql", json=body),
            retry=True,
        )
        if rng.random() < 0.2:
            await _timed(
                report, "task list", lambda: client.get("/api/ingest/tasks?limit=20"), retry=True
            )


async def uploader(client: httpx.AsyncClient, report: LoadReport, stop: float, seed: int) -> None:
    n = 0
    while time.monotonic() < stop:
        n += 1
        content = csv_file(seed * 1000 + n)
        files = {"file": (f"load-{seed}-{n}.csv", content)}
        response = await _timed(
            report,
            "upload",
            functools.partial(
                client.post, "/api/ingest/upload", files=files, data={"datasource_name": "sales"}
            ),
        )
        if response is not None and response.status_code == 202:
            report.accepted.append(response.json()["task_id"])
        await asyncio.sleep(0.5)


async def heavy(client: httpx.AsyncClient, report: LoadReport, stop: float) -> None:
    while time.monotonic() < stop:
        response = await _timed(
            report, "heavy query", lambda: client.post("/graphql", json={"query": HEAVY}), True
        )
        report.heavy_runs += 1
        if response is not None and response.status_code == 200 and "errors" in response.json():
            report.heavy_refused.append(str(response.json()["errors"])[:300])


PROBE = """
import http.client, json, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
stop, samples, failures = time.monotonic() + seconds, [], 0
while time.monotonic() < stop:
    started = time.perf_counter()
    try:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request("GET", "/healthz")
        ok = connection.getresponse().status == 200
        connection.close()
    except OSError:
        ok = False
    samples.append(time.perf_counter() - started)
    failures += not ok
    time.sleep(0.1)
print(json.dumps({"samples": samples, "failures": failures}))
"""


async def prober(url: str, report: LoadReport, seconds: float) -> None:
    """/healthz timed from a process of its own, so the load generator's own work (this
    process is busy driving hundreds of clients) does not count as the server's delay."""
    where = httpx.URL(url)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PROBE,
        where.host,
        str(where.port or 80),
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    found = json.loads(out)
    report.latencies["healthz"] = found["samples"]
    report.healthz_worst = max(found["samples"], default=0.0)
    if found["failures"]:
        report.server_errors.append(f"healthz: {found['failures']} probe(s) failed")


async def settle(url: str, report: LoadReport, timeout: float) -> None:
    """Wait until every accepted upload has ended; record how each ended."""
    deadline = time.monotonic() + timeout
    for task_id in report.accepted:
        left = max(0.0, deadline - time.monotonic())
        try:
            task = await asyncio.to_thread(wait_for_task, url, task_id, left, 0.5)
        except TaskTimeout:
            report.outcomes[task_id] = "not finished"
        else:
            report.outcomes[task_id] = str(task["status"])


async def run_load(
    url: str, *, clients: int = 200, uploaders: int = 20, seconds: float = 30.0
) -> LoadReport:
    report = LoadReport()
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        stop = time.monotonic() + seconds
        jobs = [prober(url, report, seconds), heavy(client, report, stop)]
        jobs += [uploader(client, report, stop, i) for i in range(uploaders)]
        jobs += [reader(client, report, stop, i) for i in range(clients - uploaders)]
        await asyncio.gather(*jobs)
        await settle(url, report, timeout=300)
    return report


# The sizes of a run: the default, and --quick (a check that the script works, in seconds).
SIZES = {
    "full": {"clients": 200, "uploaders": 20, "seconds": 30.0},
    "quick": {"clients": 20, "uploaders": 4, "seconds": 5.0},
}


def load_own_server(clients: int, uploaders: int, seconds: float) -> LoadReport:
    """run_load against a throwaway server with data.csv loaded."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as work:
        settings = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{work}/metadata.db",
            "STORAGE_URL": f"{work}/storage",
            "RATE_LIMIT_PER_MINUTE": "0",  # every client has the same address
            "UPLOADS_IN_FLIGHT": "0",
        }
        with uvicorn_server(server_env(settings), Path(work) / "server.log") as server:
            upload_and_wait(server.url, REPO_ROOT / "data.csv")
            return asyncio.run(
                run_load(server.url, clients=clients, uploaders=uploaders, seconds=seconds)
            )


def print_table(summary: dict[str, Any]) -> None:
    """Latency per kind of request, then what the server answered and what became of uploads."""
    print(f"{'request':<14}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for kind, figures in summary["requests"].items():
        print(
            f"{kind:<14}{figures['n']:>8,}{figures['p50']:>10.1f}{figures['p95']:>10.1f}"
            f"{figures['p99']:>10.1f}"
        )
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(summary["statuses"].items()))
    print(f"answers by status: {statuses}")
    print(
        f"uploads accepted: {summary['uploads_accepted']}, by outcome: "
        f"{summary['uploads_by_outcome']}; slowest /healthz {summary['healthz_worst_ms']} ms; "
        f"heavy queries {summary['heavy_queries']}, refused {len(summary['heavy_refused'])}; "
        f"reads retried {summary['reads_retried']}"
    )
    for error in summary["server_errors"]:
        print(f"server error: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="a running server (default: start one)")
    parser.add_argument("--quick", action="store_true", help="20 clients for 5 s")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--uploaders", type=int)
    parser.add_argument("--seconds", type=float)
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else "full"]
    clients = int(args.clients or size["clients"])
    uploaders = int(args.uploaders or size["uploaders"])
    seconds = float(args.seconds or size["seconds"])
    started = utc_now()
    if args.url:
        report = asyncio.run(
            run_load(args.url, clients=clients, uploaders=uploaders, seconds=seconds)
        )
    else:
        report = load_own_server(clients, uploaders, seconds)
    summary = report.summary()
    print_table(summary)
    run = {"clients": clients, "uploaders": uploaders, "seconds": seconds, "url": args.url}
    record = {"date": started.isoformat(), **run, **summary, "machine": machine("httpx", "uvicorn")}
    write_results("load", record, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())

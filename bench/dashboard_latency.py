"""Dashboard latency: every dashboard GraphQL field over HTTP, beside raw Polars and DuckDB.

Run it from the repository root (needs ``.venv/bin/pip install duckdb``, bench-only):

    .venv/bin/python bench/dashboard_latency.py                 # 5,000,000 rows
    .venv/bin/python bench/dashboard_latency.py --rows 200000   # a quicker check
    .venv/bin/python bench/dashboard_latency.py --quick         # seconds: 20,000 rows, few requests
    .venv/bin/python bench/dashboard_latency.py --server-repo ../main   # another checkout's server

The server runs with ``AUTH_ANONYMOUS_ROLE=admin`` (requests carry no token). With rollups (issue
12), the uncached timings start once the dataset's rollup is written (the bench waits for it).

One run does all of this:

1. Starts ``uvicorn backend.main:app`` (the flags of ``make run``) on a fresh temporary SQLite database, storage and cache
   folder, uploads ``var/bench/sales_<rows>.csv`` (generated when missing) with curl and waits
   for the task to succeed. The dataset's Parquet file is then used by the raw engines too.
2. For each dashboard field, sequential requests on one keep-alive ``httpx.Client``:
   - uncached: every request has a different ``dateTo`` (2019-04-01, 04-02, ...; the data ends
     on 2019-03-31, so each one covers every row and costs the same) with ``dateFrom:
     "2019-01-01"`` and ``branches: ["A", "B", "C"]``; ``extensions.cache.hits`` must be 0;
   - cached: the identical request (``dateTo: "2019-03-31"``) repeated; hits > 0, misses 0;
   - cached without any filter argument (what a dashboard's first load sends), for reference.
   Then the same aggregation on the same Parquet file in-process with raw Polars
   (``pl.scan_parquet(...)...collect()``) and DuckDB (``read_parquet``), same filter. The raw
   equivalents run the same queries the service runs (two for ``salesSummary``: current and
   previous period; two for ``rows``: the page and the count), without the service's extra
   work (column check, GraphQL, zero-filling, Python post-processing).
3. 50 concurrent clients (50 keep-alive connections driven by asyncio, each sending the next
   request when it has the answer) send the cached ``salesSummary`` for ``--duration`` seconds
   (or ``--max-requests``): requests/s, latency, server and client CPU.
4. Prints a table with the ratio of each field's uncached p50 to raw Polars' p50 measured in the
   same run, the targets (issue 12: uncached p50 / raw Polars p50 <= 1.0; cached p50 <= 2 ms),
   and the machine, and writes every figure to ``bench/results/dashboard_latency-<UTC time>.json``.

Exit status is non-zero only when something failed (server, upload, a field returning errors,
a cache check that did not hold, a crash); a missed target is reported, not a failure. The
client runs on the same machine as the server, so both share its CPUs. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    DATA_DIR,
    REPO_ROOT,
    BenchError,
    Server,
    command_line,
    cpu_seconds,
    ensure_csv,
    load_average,
    log_problems,
    machine,
    machine_line,
    ms,
    server_env,
    time_calls,
    upload_and_wait,
    utc_now,
    uvicorn_server,
    write_results,
)

TIME = "__time"
# DuckDB: bucketing the TIMESTAMPTZ column goes through ICU; as a plain TIMESTAMP (the session
# time zone is UTC, so the same instants) it was ~20% faster.
LOCAL = f"{TIME}::TIMESTAMP"
BRANCHES = ["A", "B", "C"]
START = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2019, 4, 1, tzinfo=dt.UTC)  # dateTo 2019-03-31 is inclusive
PREVIOUS = START - (END - START)  # the service's previous period for salesSummary
FIRST_UNCACHED_DAY = dt.date(2019, 4, 1)
CACHED_TARGET_MS = 2.0
UNCACHED_TARGET_RATIO = 1.0  # uncached p50 / raw Polars p50


# --- the fields and their raw equivalents ----------------------------------------------------------


@dataclass
class Field:
    name: str
    root: str
    args: str  # fixed arguments, e.g. "granularity: DAY"
    selection: str
    polars: Callable[[], Any]
    duckdb: list[str]  # SQL with {src} for read_parquet(...) and {where} for the filter
    filtered: bool = True

    def query(self, date_to: dt.date | None) -> str:
        args = [self.args] if self.args else []
        if self.filtered and date_to is not None:
            args.append(
                f'filter: {{dateFrom: "2019-01-01", dateTo: "{date_to}", branches: '
                + json.dumps(BRANCHES)
                + "}"
            )
        call = f"{self.root}({', '.join(args)})" if args else self.root
        return f"{{ {call} {self.selection} }}"


Scan = Callable[..., pl.LazyFrame]
TOTALS = [
    pl.col("Total").sum().alias("total_sales"),
    pl.col("gross income").sum(),
    pl.len().alias("transactions"),
    pl.col("Quantity").sum(),
]
SQL_TOTALS = 'sum(Total) AS total_sales, sum("gross income"), count(*), sum(Quantity)'
MONEY = [pl.col("Total").sum(), pl.col("cogs").sum(), pl.col("gross income").sum()]
SQL_MONEY = 'sum(Total), sum(cogs), sum("gross income")'
# The breakdown fields: (GraphQL root, column).
BREAKDOWNS = [
    ("salesByBranch", "Branch"),
    ("salesByCity", "City"),
    ("salesByProductLine", "Product line"),
    ("salesByPayment", "Payment"),
    ("salesByCustomerType", "Customer type"),
    ("salesByGender", "Gender"),
]
# The profitability fields: (argument, Polars key, SQL key).
PROFITS = [
    ("BRANCH", pl.col("Branch"), '"Branch"'),
    ("PRODUCT_LINE", pl.col("Product line"), '"Product line"'),
    ("MONTH", pl.col(TIME).dt.truncate("1mo").alias("period"), f"date_trunc('month', {LOCAL})"),
]


def build_fields(path: Path) -> list[Field]:
    def scan(start: dt.datetime = START, end: dt.datetime = END) -> pl.LazyFrame:
        time_col, branch = pl.col(TIME), pl.col("Branch")
        return pl.scan_parquet(path).filter(
            (time_col >= start) & (time_col < end) & branch.is_in(BRANCHES)
        )

    return [
        *summary_fields(scan),
        *[breakdown_field(scan, root, column) for root, column in BREAKDOWNS],
        *[profit_field(scan, *profit) for profit in PROFITS],
        *ranking_fields(scan),
        *row_fields(scan, path),
    ]


def summary_fields(scan: Scan) -> list[Field]:
    totals, sql_totals = TOTALS, SQL_TOTALS

    def summary() -> Any:
        figures = [*totals, pl.col("Rating").mean()]
        return scan().select(figures).collect(), scan(PREVIOUS, START).select(figures).collect()

    day = pl.col(TIME).dt.truncate("1d").alias("period")
    summary_sql = "SELECT {t}, avg(Rating) FROM {{src}} WHERE {w}".format
    return [
        Field(
            "salesSummary",
            "salesSummary",
            "",
            "{ totalSales grossIncome transactions unitsSold averageBasket averageRating "
            "previous { totalSales } changePercent { totalSales } }",
            summary,
            [
                summary_sql(t=sql_totals, w="{where}"),
                summary_sql(t=sql_totals, w="{where_previous}"),
            ],
        ),
        Field(
            "salesTrend(DAY)",
            "salesTrend",
            "granularity: DAY",
            "{ period totalSales transactions }",
            lambda: scan().group_by(day).agg(totals).sort("period").collect(),
            [
                f"SELECT date_trunc('day', {LOCAL}) AS p, {sql_totals} FROM {{src}} "
                "WHERE {where} GROUP BY 1 ORDER BY 1"
            ],
        ),
    ]


def breakdown_field(scan: Scan, root: str, column: str) -> Field:
    return Field(
        root,
        root,
        "",
        "{ key totalSales transactions share }",
        lambda: (
            scan()
            .group_by(column)
            .agg(TOTALS)
            .sort(["total_sales", column], descending=[True, False])
            .collect()
        ),
        [
            f'SELECT "{column}", {SQL_TOTALS} FROM {{src}} WHERE {{where}} '
            f"GROUP BY 1 ORDER BY total_sales DESC, 1"
        ],
    )


def profit_field(scan: Scan, arg: str, key: pl.Expr, sql_key: str) -> Field:
    return Field(
        f"profitability({arg})",
        "profitability",
        f"by: {arg}",
        "{ key revenue cogs grossIncome margin }",
        lambda: scan().group_by(key).agg(MONEY).sort(key.meta.output_name()).collect(),
        [f"SELECT {sql_key} AS k, {SQL_MONEY} FROM {{src}} WHERE {{where}} GROUP BY 1 ORDER BY 1"],
    )


def ranking_fields(scan: Scan) -> list[Field]:
    totals, sql_totals = TOTALS, SQL_TOTALS
    bucket = (pl.col("Rating") / 1.0).floor().clip(upper_bound=9).alias("bin")
    return [
        Field(
            "topProductLines(5)",
            "topProductLines",
            "limit: 5",
            "{ productLine value }",
            lambda: (
                scan()
                .group_by("Product line")
                .agg([*totals, pl.col("Rating").mean()])
                .sort(["total_sales", "Product line"], descending=[True, False])
                .head(5)
                .collect()
            ),
            [
                f'SELECT "Product line", {sql_totals}, avg(Rating) FROM {{src}} WHERE {{where}} '
                "GROUP BY 1 ORDER BY total_sales DESC, 1 LIMIT 5"
            ],
        ),
        Field(
            "ratingDistribution(10)",
            "ratingDistribution",
            "bins: 10",
            "{ lower upper count }",
            lambda: scan().group_by(bucket).agg(pl.len()).sort("bin").collect(),
            [
                "SELECT least(floor(Rating / 1.0), 9) AS b, count(*) FROM {src} WHERE {where} "
                "GROUP BY 1 ORDER BY 1"
            ],
        ),
        Field(
            "salesHeatmap",
            "salesHeatmap",
            "",
            "{ dayOfWeek hour totalSales }",
            lambda: (
                scan()
                .group_by(pl.col(TIME).dt.weekday().alias("d"), pl.col(TIME).dt.hour().alias("h"))
                .agg(pl.col("Total").sum(), pl.len())
                .collect()
            ),
            [
                f"SELECT isodow({LOCAL}), hour({LOCAL}), sum(Total), count(*) FROM {{src}} "
                "WHERE {where} GROUP BY 1, 2"
            ],
        ),
    ]


def row_fields(scan: Scan, path: Path) -> list[Field]:
    return [
        Field(
            "rows(50)",
            "rows",
            "first: 50",
            "{ edges { node } totalCount }",
            lambda: (
                scan().sort(TIME, maintain_order=True).head(50).collect(),
                scan().select(pl.len()).collect(),
            ),
            [
                f"SELECT * FROM {{src}} WHERE {{where}} ORDER BY {TIME} LIMIT 50",
                "SELECT count(*) FROM {src} WHERE {where}",
            ],
        ),
        Field(
            "rowCount",
            "rowCount",
            "",
            "",
            lambda: scan().select(pl.len()).collect(),
            ["SELECT count(*) FROM {src} WHERE {where}"],
        ),
        Field(
            "datasources",
            "datasources",
            "",
            "{ name rowCount }",
            lambda: (
                pl.scan_parquet(path)
                .select(pl.col(TIME).min().alias("low"), pl.col(TIME).max().alias("high"), pl.len())
                .collect()
            ),
            [f"SELECT min({TIME}), max({TIME}), count(*) FROM {{src}}"],
            filtered=False,
        ),
    ]


def sql_where(start: dt.datetime, end: dt.datetime) -> str:
    branches = ", ".join(f"'{b}'" for b in BRANCHES)
    return (
        f"{TIME} >= TIMESTAMPTZ '{start.isoformat()}' AND {TIME} < TIMESTAMPTZ "
        f"'{end.isoformat()}' AND Branch IN ({branches})"
    )


class RawEngines:
    """Times a field's raw equivalent in Polars and in DuckDB, in this process."""

    def __init__(self, path: Path, with_duckdb: bool = True) -> None:
        self.with_duckdb = with_duckdb
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.names = {
            "src": f"read_parquet('{path}')",
            "where": sql_where(START, END),
            "where_previous": sql_where(PREVIOUS, START),
        }

    def time(self, field: Field, reps: int) -> dict[str, Any]:
        sqls = [s.format(**self.names) for s in field.duckdb]
        timings: dict[str, Any] = {}
        for engine, run in [
            ("polars", field.polars),
            ("duckdb", lambda: [self.con.sql(s).to_arrow_table() for s in sqls]),
        ]:
            if engine == "duckdb" and not self.with_duckdb:
                timings[engine] = {"p50": float("nan"), "p95": float("nan"), "n": 0}
                continue
            samples = time_calls(run, reps, warmups=2)
            timings[engine] = ms(samples)
        return timings


# --- the server ------------------------------------------------------------------------------------


# The server's settings besides its folders: the cache on, big uploads allowed.
SETTINGS = {
    "MAX_UPLOAD_MB": "4096",
    "ANALYTICS_CACHE_TTL_SECONDS": "3600",
    # The load test's 50 clients share one address: the per-client limit would refuse them.
    "RATE_LIMIT_PER_MINUTE": "0",
}


def settings(workdir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        "STORAGE_URL": str(workdir / "storage"),
        "CACHE_DIR": str(workdir / "cache"),
        **SETTINGS,
    }


def upload(url: str, csv: Path, storage: Path) -> tuple[Path, float]:
    started = time.perf_counter()
    task_id = upload_and_wait(url, csv, "sales")
    path = storage / "datasets" / "sales" / f"{task_id}.parquet"
    if not path.is_file():
        raise BenchError(f"no dataset at {path}")
    wait_for_rollup(path)
    return path, time.perf_counter() - started


def wait_for_rollup(dataset: Path, seconds: float = 120) -> None:
    """A server that writes rollups writes one (rollups/v*/<dataset key>) after the dataset lands:
    wait for it (not at all for a server without rollups)."""
    deadline = time.monotonic() + seconds
    storage = dataset.parent.parent.parent  # <storage>/datasets/<datasource>/<task>.parquet
    pattern = f"rollups/v*/{dataset.relative_to(storage)}"
    has_rollups = (
        Path(os.environ.get("BENCH_SERVER_REPO", REPO_ROOT)) / "backend" / "analytics" / "rollup.py"
    ).is_file()
    while has_rollups and time.monotonic() < deadline:
        if any(storage.glob(pattern)):
            time.sleep(1)  # loaded into memory right after it is written
            return
        time.sleep(0.2)


# --- measurements ----------------------------------------------------------------------------------


def post(client: httpx.Client, query: str) -> tuple[float, dict[str, Any], int]:
    start = time.perf_counter()
    response = client.post("/graphql", json={"query": query})
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
    return seconds, response.json(), len(response.content)


def time_field(
    client: httpx.Client, field: Field, uncached: int, cached: int, day_offset: int
) -> dict[str, Any]:
    """Uncached, cached and cached-without-filter timings; raises BenchError on GraphQL errors."""
    problems: list[str] = []

    def cache(body: dict[str, Any]) -> dict[str, int]:
        if body.get("errors"):
            raise BenchError(f"{field.name}: {json.dumps(body['errors'])[:1500]}")
        return dict((body.get("extensions") or {}).get("cache") or {})

    samples: list[float] = []
    size = 0
    for i in range(uncached + 2):  # 2 warm-ups
        day = FIRST_UNCACHED_DAY + dt.timedelta(days=day_offset + i)
        seconds, body, size = post(client, field.query(day if field.filtered else None))
        info = cache(body)
        # The known values of the filtered column (matched ignoring case) are one lookup that
        # is the same in every request: a hit; the field's own queries must miss.
        if field.filtered and not info.get("misses"):
            problems.append(f"uncached request had cache {info}")
        if i >= 2:
            samples.append(seconds)
    result: dict[str, Any] = {"uncached": ms(samples), "bytes": size}

    cached_query = field.query(END.date() - dt.timedelta(days=1))
    for label, query, count in [
        ("cached", cached_query, cached),
        ("cached_no_filter", field.query(None), max(2, cached // 2)),
    ]:
        cache(post(client, query)[1])  # fills the cache
        samples = []
        for _ in range(count):
            seconds, body, _ = post(client, query)
            info = cache(body)
            if info and (info.get("misses") or not info.get("hits")):
                problems.append(f"{label} request had cache {info}")
            samples.append(seconds)
        result[label] = ms(samples)
        result[f"{label}_cache"] = info or None  # None: the field does not use the cache
    result["problems"] = sorted(set(problems))
    return result


async def load_test(
    url: str, query: str, clients: int, duration: float, limit: int
) -> dict[str, Any]:
    """`clients` keep-alive connections, each sending the request again as soon as it has the
    answer. A minimal HTTP/1.1 client on asyncio streams: httpx.AsyncClient with 50 connections
    used a whole core itself and capped the rate at ~200 req/s (server 0.4 cores busy)."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"query": query}).encode()
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    failures = 0

    async def client(deadline: float, count: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline and len(latencies) + failures < count:
                start = time.perf_counter()
                writer.write(request)
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
                answer = json.loads(await reader.readexactly(length))
                latency = time.perf_counter() - start
                info = (answer.get("extensions") or {}).get("cache") or {}
                ok = head.startswith("http/1.1 200") and not answer.get("errors")
                if ok and info.get("hits") and not info.get("misses"):
                    latencies.append(latency)
                else:
                    failures += 1
        finally:
            writer.close()

    # warm-up, 1 s at most
    await asyncio.gather(*(client(time.perf_counter() + 1, 2 * clients) for _ in range(clients)))
    latencies.clear()
    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(client(started + duration, limit) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": len(latencies),
        "failures": failures,
        "rps": len(latencies) / elapsed,
        "client_cpu_share": (time.process_time() - cpu) / elapsed,
        **{f"latency_{k}": v for k, v in ms(latencies).items() if k != "n"},
        "latency_p99": statistics.quantiles(latencies, n=100)[98] * 1000,
        "latency_max": max(latencies) * 1000,
    }


# The sizes of a run: the defaults, and --quick (a check that the script works, in seconds).
SIZES: dict[str, dict[str, Any]] = {
    "full": {"rows": 5_000_000, "uncached": 20, "cached": 50, "raw": 20, "duration": 10.0},
    "quick": {"rows": 20_000, "uncached": 3, "cached": 5, "raw": 3, "duration": 2.0},
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a small file and few requests")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--uncached", type=int, help="uncached requests per field")
    parser.add_argument("--cached", type=int, help="cached requests per field")
    parser.add_argument("--raw", type=int, help="raw engine runs per field")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, help="load test seconds")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument(
        "--no-duckdb", action="store_true", help="time raw Polars only (DuckDB is slower here)"
    )
    parser.add_argument(
        "--server-repo",
        type=Path,
        default=REPO_ROOT,
        help="checkout whose backend the server runs (a 'before' run: another branch's)",
    )
    args = parser.parse_args(argv)
    for name, value in SIZES["quick" if args.quick else "full"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


@dataclass
class Measured:
    fields: list[Field]
    results: dict[str, dict[str, Any]]
    load: dict[str, Any]
    upload_s: float


def time_fields(
    url: str, fields: list[Field], engines: RawEngines, args: argparse.Namespace, errors: list[str]
) -> dict[str, dict[str, Any]]:
    """Every field over HTTP and in the raw engines; a field that fails is left out."""
    results: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for field in fields:
            # rows asks for the same count as rowCount: keep their dateTo values apart
            offset = args.uncached + 2 if field.name == "rowCount" else 0
            try:
                r = time_field(client, field, args.uncached, args.cached, offset)
            except BenchError as exc:
                errors.append(str(exc))
                print(f"ERROR {exc}", flush=True)
                continue
            results[field.name] = r
            r["raw"] = x = engines.time(field, args.raw)
            errors += [f"{field.name}: {p}" for p in r["problems"]]
            print(
                f"  {field.name}: uncached p50 {r['uncached']['p50']:.1f} ms, cached "
                f"{r['cached']['p50']:.1f} ms, polars {x['polars']['p50']:.1f} ms, duckdb "
                f"{x['duckdb']['p50']:.1f} ms",
                flush=True,
            )
        # sanity: service and raw engines agree on the totals
        body = post(client, fields[0].query(END.date() - dt.timedelta(days=1)))[1]
    service_total = body["data"]["salesSummary"]["totalSales"]
    polars_total = fields[0].polars()[0]["total_sales"][0]
    if abs(service_total - polars_total) > 1e-6 * max(1.0, abs(polars_total)):
        errors.append(f"salesSummary totalSales {service_total} != Polars {polars_total}")
    return results


def load_phase(server: Server, fields: list[Field], args: argparse.Namespace) -> dict[str, Any]:
    """The cached salesSummary from `--clients` clients at once, with the server's CPU share."""
    summary = next(f for f in fields if f.name == "salesSummary")
    pid = server.process.pid
    cpu_before, clock = cpu_seconds(pid), time.perf_counter()
    query = summary.query(END.date() - dt.timedelta(days=1))
    load = asyncio.run(load_test(server.url, query, args.clients, args.duration, args.max_requests))
    load["server_cpu_share"] = (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - clock)
    return load


def measure(
    server: Server, csv: Path, workdir: Path, args: argparse.Namespace, errors: list[str]
) -> Measured:
    parquet, upload_s = upload(server.url, csv, workdir / "storage")
    print(f"uploaded and processed in {upload_s:.1f} s: {parquet.stat().st_size / 1e6:.1f} MB")
    fields = build_fields(parquet)
    engines = RawEngines(parquet, with_duckdb=not args.no_duckdb)
    results = time_fields(server.url, fields, engines, args, errors)
    load = load_phase(server, fields, args)
    if load["failures"]:
        errors.append(f"load test: {load['failures']} failed or uncached responses")
    return Measured(fields, results, load, upload_s)


def print_fields(measured: Measured) -> list[str]:
    """The table of fields, with each field's targets; returns the fields it has figures for."""
    header = (
        f"{'field':<28}{'uncached p50/p95':>18}{'cached p50/p95':>16}{'no-filter':>10}"
        f"{'polars p50/p95':>16}{'duckdb p50/p95':>16}{'/polars':>8}  uncached  cached"
    )
    print(f"\n{header}\n" + "-" * len(header))
    shown = []
    for field in measured.fields:
        if field.name not in measured.results:
            continue
        r = measured.results[field.name]
        x = r["raw"]
        ratio = r["uncached"]["p50"] / x["polars"]["p50"]
        r["uncached_ratio_to_polars"] = ratio
        r["uncached_met"] = ratio <= UNCACHED_TARGET_RATIO
        r["cached_met"] = r["cached"]["p50"] <= CACHED_TARGET_MS
        pair = "{0[p50]:.1f}/{0[p95]:.1f}".format
        print(
            f"{field.name:<28}{pair(r['uncached']):>18}{pair(r['cached']):>16}"
            f"{r['cached_no_filter']['p50']:>10.1f}{pair(x['polars']):>16}{pair(x['duckdb']):>16}"
            f"{ratio:>8.2f}  {'met' if r['uncached_met'] else 'NOT met':<8}  "
            f"{'met' if r['cached_met'] else 'NOT met'}"
        )
        shown.append(field.name)
    return shown


def print_summary(measured: Measured, shown: list[str]) -> None:
    load, results = measured.load, measured.results
    print(
        f"\nload: {load['clients']} clients, cached salesSummary, {load['requests']:,} requests "
        f"in {load['seconds']:.1f} s = {load['rps']:.0f} req/s, latency p50 "
        f"{load['latency_p50']:.1f} ms p95 {load['latency_p95']:.1f} ms p99 {load['latency_p99']:.0f} "
        f"ms max {load['latency_max']:.0f} ms, server CPU "
        f"{load['server_cpu_share']:.2f} cores, client CPU {load['client_cpu_share']:.2f} cores, "
        f"failures {load['failures']}"
    )
    met_u = sum(results[n]["uncached_met"] for n in shown)
    met_c = sum(results[n]["cached_met"] for n in shown)
    print(
        f"targets (uncached p50 / polars p50 <= {UNCACHED_TARGET_RATIO}, cached p50 <= "
        f"{CACHED_TARGET_MS} ms): uncached met for {met_u}/{len(shown)} fields, cached "
        f"{met_c}/{len(shown)}"
    )
    if shown:
        uncached = [results[n]["uncached"]["p50"] for n in shown]
        raw = [results[n]["raw"]["polars"]["p50"] for n in shown]
        cached = [results[n]["cached"]["p50"] for n in shown]
        print(
            f"all fields: uncached p50 sum {sum(uncached):.1f} ms / polars p50 sum {sum(raw):.1f} ms "
            f"= {sum(uncached) / sum(raw):.2f}; worst field ratio "
            f"{max(u / p for u, p in zip(uncached, raw, strict=True)):.2f}; cached p50 median "
            f"{statistics.median(cached):.2f} ms, max {max(cached):.2f} ms"
        )


def print_header(
    args: argparse.Namespace, csv: Path, info: dict[str, Any], started: dt.datetime
) -> None:
    print(f"date: {started:%Y-%m-%dT%H:%M:%SZ}")
    print(f"command: {command_line()}")
    print(machine_line(info))
    print("versions: " + ", ".join(f"{k} {info[k]}" for k in VERSIONS))
    print(f"input: {csv} ({args.rows:,} rows)", flush=True)
    print(f"server code: {args.server_repo.resolve()}", flush=True)


VERSIONS = ("python", "polars", "duckdb", "httpx", "uvicorn", "strawberry-graphql")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["BENCH_SERVER_REPO"] = str(args.server_repo.resolve())
    csv = ensure_csv(args.rows).path
    info = machine(*VERSIONS[1:])
    started = utc_now()
    print_header(args, csv, info, started)
    workdir = Path(tempfile.mkdtemp(prefix="dashboard_", dir=DATA_DIR))
    log = DATA_DIR / f"dashboard_server_{args.rows}.log"
    errors: list[str] = []
    env = server_env(settings(workdir))
    try:
        cwd = args.server_repo.resolve()
        with uvicorn_server(env, log, cwd=cwd, grace=30) as server:
            measured = measure(server, csv, workdir, args, errors)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    code = server.process.returncode
    problems = log_problems(log)
    if code not in (0, -signal.SIGTERM):
        errors.append(f"server exit status {code}")
    shown = print_fields(measured)
    print_summary(measured, shown)
    info["load_after"] = load_average()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in info['load_after'])}")
    print(f"server log: {log.relative_to(REPO_ROOT)}, error lines: {len(problems)}")
    for line in problems[:10]:
        print(f"  {line}")
    for error in errors:
        print(f"ERROR: {error}")
    record = {
        "bench": "dashboard_latency",
        "date": f"{started:%Y-%m-%dT%H:%M:%SZ}",
        "rows": args.rows,
        "machine": info,
        "upload_s": measured.upload_s,
        "fields": measured.results,
        "load": measured.load,
        "server_log_problems": problems,
        "errors": errors,
    }
    write_results("dashboard_latency", record, started)
    return 1 if errors or len(shown) != len(measured.fields) else 0


if __name__ == "__main__":
    raise SystemExit(main())

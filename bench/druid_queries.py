"""Druid query path: warehouse-mode `salesSummary` over HTTP against a hand-written Druid SQL for
the same figures straight to the router, and every dashboard field in warehouse mode against
embedded mode, uncached, in one run (optionally with the code before a change beside it).

Run it from the repository root with a Druid running (`make druid` prints its URL):

    DRUID_URL=http://127.0.0.1:8888 .venv/bin/python bench/druid_queries.py            # 300k rows
    DRUID_URL=... .venv/bin/python bench/druid_queries.py --rows 5000000               # full
    DRUID_URL=... .venv/bin/python bench/druid_queries.py --before /work/wt/before     # + before
    DRUID_URL=... .venv/bin/python bench/druid_queries.py --quick                      # a check
    (with DRUID_BROKER_URL set, as `make druid` prints it, the service queries the broker
    directly, and the hand-written SQL is also timed against the broker)

One run:
1. Starts `uvicorn backend.main:app` from this checkout ("after") and, with --before DIR, from
   DIR ("before"), each on a fresh SQLite database and storage folder with its own Druid
   datasource prefix and the result cache off; uploads the generated --rows file to each and
   waits until Druid serves it.
2. salesSummary (both periods' figures) --repeat times per server, requests interleaved, each
   with a different all-covering dateTo (a cache miss every time); beside it three hand-written
   Druid SQL queries on the same raw rows sent straight to the router: the same figures for both
   periods (one SQL of filtered aggregates), the same figures for the period asked (one plain
   SQL: what a person writes, the ratio's baseline; the period before lies before the data), and
   the total and count of that period (the issue's first measure). Ratio = our p50 / its p50.
3. Every dashboard field (bench/druid_pipeline.py's FIELDS), --repeat uncached requests in
   warehouse mode and in standalone (embedded) mode, per checkout: p50, p95, warehouse /
   embedded. The embedded side is a twin server of the same checkout without Druid, loaded with
   the same file, so the two modes are asked request by request, in turn (the order turned
   round every other round): a disturbance of the machine lands on both, and one run gives the
   ratio.
Prints tables and writes every figure to bench/results/druid_queries-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.druid_pipeline import FIELDS, set_mode, upload, wait_rollup  # noqa: E402
from bench.harness import (  # noqa: E402
    REPO_ROOT,
    BenchError,
    ensure_csv,
    free_port,
    machine,
    ms,
    run_main,
    server_env,
    utc_now,
    uvicorn_server,
    write_results,
)

SIZES = {"full": {"rows": 300_000, "repeat": 15}, "quick": {"rows": 20_000, "repeat": 3}}
DATE_FROM = dt.date(2018, 12, 1)
SUMMARY = (
    "salesSummary(filter: $f) { totalSales grossIncome transactions unitsSold averageRating "
    "previous { totalSales grossIncome transactions unitsSold averageRating } }"
)
FIGURES = (
    'SUM("Total") FILTER (WHERE {w}), SUM("gross income") FILTER (WHERE {w}), '
    'COUNT(*) FILTER (WHERE {w}), SUM("Quantity") FILTER (WHERE {w}), '
    'AVG("Rating") FILTER (WHERE {w})'
)
PERIOD = '"__time" >= ? AND "__time" < ?'


def date_to(i: int) -> dt.date:
    """A different all-covering end date per request (the generated rows lie in 2019 Q1)."""
    return dt.date(2019, 4, 1) + dt.timedelta(days=i)


def bounds(i: int) -> tuple[int, int, int]:
    """Epoch ms of the previous period's start, the period's start and its end, as the
    service computes them for dateFrom DATE_FROM and dateTo date_to(i)."""
    start = dt.datetime.combine(DATE_FROM, dt.time(), dt.UTC)
    end = dt.datetime.combine(date_to(i) + dt.timedelta(days=1), dt.time(), dt.UTC)
    before = start - (end - start)
    return tuple(int(t.timestamp() * 1000) for t in (before, start, end))  # type: ignore[return-value]


def hand_sql(table: str, kind: str, i: int) -> dict[str, Any]:
    before, start, end = bounds(i)
    stamp = [{"type": "TIMESTAMP", "value": v} for v in (start, end, before, start)]
    if kind == "total and count":
        query = f'SELECT SUM("Total"), COUNT(*) FROM "{table}" WHERE {PERIOD}'
        parameters = stamp[:2]
    elif kind == "same figures, this period":  # what a person writes for the figures shown
        figures = FIGURES.replace(" FILTER (WHERE {w})", "")
        query = f'SELECT {figures} FROM "{table}" WHERE {PERIOD}'
        parameters = stamp[:2]
    else:
        select = FIGURES.format(w=PERIOD) + ", " + FIGURES.format(w=PERIOD)
        query = f'SELECT {select} FROM "{table}" WHERE "__time" >= ? AND "__time" < ?'
        parameters = stamp[:2] * 5 + stamp[2:] * 5 + [stamp[2], stamp[1]]
    return {"query": query, "parameters": parameters, "resultFormat": "array"}


def graphql(client: httpx.Client, field: str, i: int) -> float:
    variables = {"f": {"dateFrom": DATE_FROM.isoformat(), "dateTo": date_to(i).isoformat()}}
    started = time.perf_counter()
    response = client.post(
        "/graphql", json={"query": f"query($f: SalesFilter) {{ {field} }}", "variables": variables}
    )
    seconds = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise BenchError(f"{field[:40]}: {response.status_code} {str(body)[:500]}")
    return seconds


def druid_sql(client: httpx.Client, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.post("/druid/v2/sql", json=body)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"Druid SQL: {response.status_code} {response.text[:500]}")
    return seconds


def interleaved(
    runs: dict[str, Callable[[int], float]], repeat: int
) -> dict[str, dict[str, float]]:
    """p50/p95 ms of each run, called in turn request by request, the order turned round every
    other round (2 warm-up calls each)."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(-2, repeat):
        turn = list(runs.items())
        for name, run in turn if i % 2 == 0 else reversed(turn):
            seconds = run(i + 1000 if i < 0 else i)  # warm-ups use other dates
            if i >= 0:
                samples[name].append(seconds)
    return {name: ms(values) for name, values in samples.items()}


@contextlib.contextmanager
def service(
    label: str, cwd: Path, druid_url: str, broker_url: str, workdir: Path
) -> Iterator[dict[str, Any]]:
    """A server of `cwd` on Druid (`druid_url`), or without Druid when it is empty (the
    embedded twin: no DRUID_* variable of this process reaches it)."""
    port = free_port()
    prefix = f"bq{uuid.uuid4().hex[:8]}_"
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / label / 'metadata.db'}",
        "STORAGE_URL": str(workdir / label / "storage"),
        "CACHE_DIR": str(workdir / label / "cache"),
        "MAX_UPLOAD_MB": "4096",
        "ANALYTICS_CACHE_ENTRIES": "0",
    }
    if druid_url:
        settings |= {
            "DRUID_URL": druid_url,
            "DRUID_BROKER_URL": broker_url,  # code before issue 28 ignores it: the router
            "DRUID_DATASOURCE_PREFIX": prefix,
            "DRUID_DATA_BASE_URL": f"http://127.0.0.1:{port}",
            "DRUID_POLL_SECONDS": "0.5",
        }
    (workdir / label).mkdir(parents=True)
    log = workdir / label / "server.log"
    env = server_env(settings, drop=("DATABASE_", "STORAGE_", "DRUID_"))
    with uvicorn_server(env, log, port=port, cwd=cwd, grace=30) as server:
        yield {"url": server.url, "table": f"{prefix}sales"}


def load(servers: dict[str, dict[str, Any]], big: Path, druid: bool) -> None:
    for label, found in servers.items():
        print(f"{label}: loading {big.name} ...", file=sys.stderr, flush=True)
        loaded = upload(found["url"], big)
        found["load"] = {k: v for k, v in loaded.items() if k != "task"}
        if druid:
            found["load"]["rollup recorded after"] = wait_rollup(
                found["url"], loaded["task"]["task_id"]
            )


def measure(
    servers: dict[str, dict[str, Any]],
    twins: dict[str, dict[str, Any]],
    urls: tuple[str, str],
    big: Path,
    repeat: int,
) -> Any:
    """`servers` on Druid and their embedded `twins`, per checkout; `urls`: router, broker."""
    druid_url, broker_url = urls
    load(servers, big, druid=True)
    load(twins, big, druid=False)
    clients = {label: httpx.Client(base_url=s["url"], timeout=120) for label, s in servers.items()}
    embedded = {label: httpx.Client(base_url=s["url"], timeout=120) for label, s in twins.items()}
    table = next(iter(servers.values()))["table"]
    broker = httpx.Client(base_url=broker_url or druid_url, timeout=120)
    with httpx.Client(base_url=druid_url, timeout=120) as router, broker:
        for label in servers:
            set_mode(servers[label]["url"], "warehouse")
            set_mode(twins[label]["url"], "standalone")
        runs: dict[str, Callable[[int], float]] = {
            f"{label}: salesSummary over HTTP": (
                lambda i, c=client: graphql(c, SUMMARY, i)  # type: ignore[misc]
            )
            for label, client in clients.items()
        }
        for kind in ("same figures, both periods", "same figures, this period", "total and count"):
            runs[f"hand-written Druid SQL: {kind}"] = lambda i, k=kind: druid_sql(  # type: ignore[misc]
                router, hand_sql(table, k, i)
            )
        if broker_url:  # the service's queries go there too
            runs["hand-written Druid SQL to the broker: same figures, this period"] = lambda i: (
                druid_sql(broker, hand_sql(table, "same figures, this period", i))
            )
        summary = interleaved(runs, repeat)
    fields: dict[str, dict[str, dict[str, float]]] = {}
    for name, field in FIELDS.items():
        asked: dict[str, Callable[[int], float]] = {}
        for label in servers:  # both modes of a checkout in turn, request by request
            asked[f"{label} warehouse"] = lambda i, c=clients[label], f=field: graphql(c, f, i)  # type: ignore[misc]
            asked[f"{label} standalone"] = lambda i, c=embedded[label], f=field: graphql(c, f, i)  # type: ignore[misc]
        fields[name] = interleaved(asked, repeat)
    for client in [*clients.values(), *embedded.values()]:
        client.close()
    return summary, fields


def report(
    servers: dict[str, Any],
    twins: dict[str, Any],
    summary: Any,
    fields: Any,
    args: argparse.Namespace,
) -> None:
    hand = summary["hand-written Druid SQL: same figures, this period"]["p50"]
    count = summary["hand-written Druid SQL: total and count"]["p50"]
    print(f"\nsalesSummary, uncached, {args.rows:,} rows, {args.repeat} requests each (ms)")
    print("| what | p50 | p95 | / hand-written same figures (this period) | / total+count |")
    print("|---|---:|---:|---:|---:|")
    for name, figures in summary.items():
        print(
            f"| {name} | {figures['p50']:.1f} | {figures['p95']:.1f} | "
            f"{figures['p50'] / hand:.2f} | {figures['p50'] / count:.2f} |"
        )
    print("\nEvery field, uncached, p50 ms, the modes asked in turn (warehouse = Druid)")
    labels = list(servers)
    head = " | ".join(f"{x} warehouse | {x} embedded | {x} ratio" for x in labels)
    print(f"| field | {head} |")
    print("|---|" + "---:|" * (3 * len(labels)))
    for name, modes in fields.items():
        cells = []
        for label in labels:
            w, e = modes[f"{label} warehouse"]["p50"], modes[f"{label} standalone"]["p50"]
            cells.append(f"{w:.1f} | {e:.1f} | {w / e:.2f}")
        print(f"| {name} | {' | '.join(cells)} |")
    started = utc_now()
    record = {
        "machine": machine("polars", "httpx", "uvicorn"),
        "date": started.isoformat(),
        "rows": args.rows,
        "repeat": args.repeat,
        "loads": {label: s["load"] for label, s in servers.items()},
        "embedded loads": {label: s["load"] for label, s in twins.items()},
        "summary_ms": summary,
        "fields_ms": fields,
    }
    write_results("druid_queries", record, started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--druid-url", default=None, help="default: $DRUID_URL")
    parser.add_argument(
        "--broker-url",
        default=None,
        help="the service's DRUID_BROKER_URL (default: $DRUID_BROKER_URL)",
    )
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 requests")
    parser.add_argument("--rows", type=int, help="rows loaded (default 300,000)")
    parser.add_argument("--repeat", type=int, help="requests per figure (default 15)")
    parser.add_argument("--before", type=Path, help="also run the service from this checkout")
    args = parser.parse_args(argv)
    for name, value in SIZES["quick" if args.quick else "full"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    druid_url = (args.druid_url or os.environ.get("DRUID_URL") or "").rstrip("/")
    if not druid_url:
        print("set DRUID_URL (make druid prints it) or pass --druid-url", file=sys.stderr)
        return 2
    broker_url = (args.broker_url or os.environ.get("DRUID_BROKER_URL") or "").rstrip("/")
    big = ensure_csv(args.rows).path
    workdir = Path(tempfile.mkdtemp(prefix="bench-druidq-"))
    checkouts = {"after": REPO_ROOT}
    if args.before:
        checkouts = {"before": args.before.resolve(), **checkouts}
    try:
        with contextlib.ExitStack() as stack:
            servers = {
                label: stack.enter_context(service(label, cwd, druid_url, broker_url, workdir))
                for label, cwd in checkouts.items()
            }
            twins = {
                label: stack.enter_context(service(f"{label}-embedded", cwd, "", "", workdir))
                for label, cwd in checkouts.items()
            }
            urls = (druid_url, broker_url)
            summary, fields = measure(servers, twins, urls, big, args.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(servers, twins, summary, fields, args)
    return 0


if __name__ == "__main__":
    run_main(main)

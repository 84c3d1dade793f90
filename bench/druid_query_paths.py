"""Where a dashboard figure's time goes in Druid: the same figures asked as Druid SQL and as a
native query, through the router, straight to the broker and straight to the historical, on a
datasource the service loaded and its rollup.

    DRUID_URL=http://127.0.0.1:8888 .venv/bin/python bench/druid_query_paths.py \\
        --datasource bq1234abcd_sales --broker http://127.0.0.1:8082 \\
        --historical http://127.0.0.1:8083

--datasource: a raw Druid datasource with its `<name>-rollup` (bench/druid_queries.py leaves its
own loaded: `bq<8 hex>_sales`). Every request asks the total of `Total` and the row count over
a different, all-covering period (no result can be reused); p50, min and p90 of --repeat
requests after 3 warm-ups, the paths interleaved request by request. Prints a table and writes
bench/results/druid_query_paths-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import BenchError, machine, ms, run_main, utc_now, write_results  # noqa: E402

START = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)


def period_end(i: int) -> dt.datetime:
    return dt.datetime(2019, 4, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i)


def sql(table: str, raw: bool, i: int) -> dict[str, Any]:
    figures = 'SUM("Total"), COUNT(*)' if raw else 'SUM("__sum:Total"), SUM("__rows")'
    stamps = [int(t.timestamp() * 1000) for t in (START, period_end(i))]
    return {
        "query": f'SELECT {figures} FROM "{table}" WHERE "__time" >= ? AND "__time" < ?',
        "parameters": [{"type": "TIMESTAMP", "value": v} for v in stamps],
        "resultFormat": "array",
    }


def native(table: str, raw: bool, i: int) -> dict[str, Any]:
    aggregations = (
        [{"type": "doubleSum", "name": "t", "fieldName": "Total"}, {"type": "count", "name": "n"}]
        if raw
        else [
            {"type": "doubleSum", "name": "t", "fieldName": "__sum:Total"},
            {"type": "longSum", "name": "n", "fieldName": "__rows"},
        ]
    )
    end = period_end(i).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "queryType": "timeseries",
        "dataSource": table,
        "granularity": "all",
        "intervals": [f"2019-01-01T00:00:00Z/{end}"],
        "aggregations": aggregations,
    }


def caller(client: httpx.Client, path: str, body: Callable[[int], dict[str, Any]]) -> Any:
    def call(i: int) -> float:
        started = time.perf_counter()
        response = client.post(path, json=body(i))
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            raise BenchError(f"{path}: {response.status_code} {response.text[:300]}")
        return seconds

    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasource", required=True, help="raw datasource with a -rollup")
    parser.add_argument("--router", default=os.environ.get("DRUID_URL", "http://127.0.0.1:8888"))
    parser.add_argument("--broker", default=os.environ.get("DRUID_BROKER_URL"))
    parser.add_argument("--historical", default=None, help="native queries only")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args(argv)
    raw, rolled = args.datasource, f"{args.datasource}-rollup"
    places = {"router": args.router, "broker": args.broker, "historical": args.historical}
    clients = {k: httpx.Client(base_url=v, timeout=60) for k, v in places.items() if v}
    runs: dict[str, Callable[[int], float]] = {}
    for where, client in clients.items():
        for table, is_raw, label in ((rolled, False, "rollup"), (raw, True, "raw rows")):
            if where != "historical":
                runs[f"SQL, {label}, via the {where}"] = caller(
                    client, "/druid/v2/sql", functools.partial(sql, table, is_raw)
                )
            runs[f"native, {label}, via the {where}"] = caller(
                client, "/druid/v2", functools.partial(native, table, is_raw)
            )
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(-3, args.repeat):
        for name, run in runs.items():
            seconds = run(i + 1000 if i < 0 else i)
            if i >= 0:
                samples[name].append(seconds)
    for client in clients.values():
        client.close()
    found = {name: ms(values) for name, values in samples.items()}
    print(f"\n{args.datasource}: total and count of a period, {args.repeat} requests (ms)")
    print("| path | p50 | p95 |")
    print("|---|---:|---:|")
    for name, figures in found.items():
        print(f"| {name} | {figures['p50']:.1f} | {figures['p95']:.1f} |")
    record = {"machine": machine("httpx"), "datasource": raw, "repeat": args.repeat, "ms": found}
    write_results("druid_query_paths", record, utc_now())
    return 0


if __name__ == "__main__":
    run_main(main)

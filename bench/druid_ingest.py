"""Druid's own `index_parallel` of the generated rows, submitted by hand (no service), per input
format and tuning: what Druid needs, beside which bench/druid_pipeline.py's upload -> queryable
shows our overhead. Used by `bench/druid_pipeline.py --ingest`; runnable alone:

    DRUID_URL=http://127.0.0.1:8888 .venv/bin/python bench/druid_ingest.py --rows 300000

Per variant: the copy written by backend/druid/copy.py (the service's own code), the task
submitted with a `local` input source (Druid on this machine reads the file), seconds from
submit to SUCCESS (Druid's task) and from SUCCESS to 100% loaded (the coordinator's period
and the historical's loading), polled every 0.2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from backend.druid.client import DruidClient  # noqa: E402
from backend.druid.copy import copy_name, write_copy  # noqa: E402
from backend.druid.spec import InputFormat, LocalLocation, SpecInput, build_spec  # noqa: E402
from bench.harness import ensure_csv, utc_now, write_results  # noqa: E402

# name: (input format, tuningConfig overrides, segment granularity or None for the service's)
VARIANTS: dict[str, tuple[InputFormat, dict[str, Any], str | None]] = {
    "json.gz, defaults": (InputFormat.JSON, {}, None),
    "csv.gz, defaults": (InputFormat.CSV, {}, None),
    "csv.gz, 2 subtasks": (InputFormat.CSV, {"maxNumConcurrentSubTasks": 2}, None),
    "csv.gz, maxRowsInMemory 500k": (InputFormat.CSV, {"maxRowsInMemory": 500_000}, None),
    "csv.gz, maxRowsPerSegment 5M": (
        InputFormat.CSV,
        {"partitionsSpec": {"type": "dynamic", "maxRowsPerSegment": 5_000_000}},
        None,
    ),
    "csv.gz, segments by MONTH": (InputFormat.CSV, {}, "MONTH"),
}


def dataset(csv: Path, target: Path) -> Path:
    """The rows as the service stores them: typed Parquet with `__time` from Date and Time."""
    frame = pl.scan_csv(csv).with_columns(
        (pl.col("Date") + " " + pl.col("Time"))
        .str.strptime(pl.Datetime("ms", "UTC"), "%m/%d/%Y %H:%M")
        .alias("__time")
    )
    frame.sink_parquet(target)
    return target


def spec_for(parquet: Path, copy: Path, kind: InputFormat, name: str) -> dict[str, Any]:
    schema = pl.read_parquet_schema(parquet)
    types = {pl.Int64: "integer", pl.Float64: "float"}
    times = pl.scan_parquet(parquet).select(
        pl.col("__time").min().alias("low"), pl.col("__time").max().alias("high")
    )
    low, high = times.collect().row(0)
    return build_spec(
        SpecInput(
            datasource=name,
            columns=tuple((c, types.get(t, "string")) for c, t in schema.items()),  # type: ignore[call-overload]
            time_min=low,
            time_max=high,
            location=LocalLocation(str(copy)),
            input_format=kind,
        )
    )


async def run_variant(client: DruidClient, spec: dict[str, Any]) -> dict[str, float]:
    datasource = spec["spec"]["dataSchema"]["dataSource"]
    started = time.perf_counter()
    task_id = await client.submit(spec)
    while not (state := await client.task_state(task_id)) or not state.finished:
        await asyncio.sleep(0.2)
    if state.status != "SUCCESS":
        raise RuntimeError(f"{datasource}: {state.status} {state.error}")
    succeeded = time.perf_counter()
    while (await client.load_percent(datasource)) != 100.0:
        await asyncio.sleep(0.2)
    loaded = time.perf_counter()
    await client.drop_datasource(datasource)
    return {"submit_to_success": succeeded - started, "success_to_loaded": loaded - succeeded}


async def measure(druid_url: str, rows: int, names: list[str] | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    parquet = dataset(ensure_csv(rows).path, work / "data.parquet")
    found: dict[str, Any] = {}
    copies: dict[InputFormat, tuple[Path, float]] = {}
    client = DruidClient(druid_url, timeout=60)
    try:
        for name, (kind, tuning, granularity) in VARIANTS.items():
            if names and name not in names:
                continue
            if kind not in copies:
                started = time.perf_counter()
                copy = write_copy(parquet, work / copy_name("copy", kind), kind)
                copies[kind] = (copy, time.perf_counter() - started)
            copy, seconds = copies[kind]
            spec = spec_for(parquet, copy, kind, f"bi{uuid.uuid4().hex[:8]}")
            spec["spec"]["tuningConfig"].update(tuning)
            if granularity:
                spec["spec"]["dataSchema"]["granularitySpec"]["segmentGranularity"] = granularity
            figures = await run_variant(client, spec)
            found[name] = {"copy_write": seconds, "copy_bytes": copy.stat().st_size, **figures}
            print(f"{name}: {found[name]}", file=sys.stderr, flush=True)
    finally:
        await client.close()
    return found


def report(rows: int, found: dict[str, Any]) -> None:
    print(f"\nDruid index_parallel by hand, {rows:,} rows (seconds)")
    print("| variant | copy write | copy MB | submit -> SUCCESS | SUCCESS -> loaded | total |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in found.items():
        total = f["copy_write"] + f["submit_to_success"] + f["success_to_loaded"]
        print(
            f"| {name} | {f['copy_write']:.2f} | {f['copy_bytes'] / 1e6:.1f} | "
            f"{f['submit_to_success']:.2f} | {f['success_to_loaded']:.2f} | {total:.2f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--druid-url", default=os.environ.get("DRUID_URL"))
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--variant", action="append", help="only these (repeatable)")
    args = parser.parse_args(argv)
    if not args.druid_url:
        print("set DRUID_URL (make druid prints it) or pass --druid-url", file=sys.stderr)
        return 2
    found = asyncio.run(measure(args.druid_url.rstrip("/"), args.rows, args.variant))
    report(args.rows, found)
    write_results("druid_ingest", {"date": utc_now().isoformat(), "rows": args.rows, **found})
    return 0


if __name__ == "__main__":
    sys.exit(main())

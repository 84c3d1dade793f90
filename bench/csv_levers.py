"""The Parquet writer's settings, measured on the service's own CSV pass (issue 28, CSV levers).

    python bench/csv_levers.py --rows 1000000 --repeat 3

For each setting of ``backend.pipeline.writer.SINK_OPTIONS`` below, a fresh interpreter runs the
service's ``normalize`` (the one streaming pass: read, check, write Parquet) on
var/bench/sales_<rows>.csv with the setting in place, timed inside the child; raw Polars
``scan_csv -> sink_parquet(zstd)`` on the same file runs beside it. The settings alternate within
each repeat; medians are printed with the Parquet's size and whether its rows equal those of the
current setting (same rows, types and values). A figure is written to
bench/results/csv_levers-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    DATA_DIR,
    REPO_ROOT,
    BenchError,
    command_line,
    ensure_csv,
    machine,
    utc_now,
    write_results,
)

# name -> SINK_OPTIONS for the child ("raw" is raw Polars, not the service).
SETTINGS: dict[str, dict[str, Any] | None] = {
    "raw Polars scan_csv -> sink_parquet(zstd)": None,
    "service, zstd level 1 (current)": {"compression": "zstd", "compression_level": 1},
    "service, zstd (level 3, Polars' default)": {"compression": "zstd"},
    "service, zstd 1, statistics off": {
        "compression": "zstd",
        "compression_level": 1,
        "statistics": False,
    },
    "service, zstd 1, row groups of 1M rows": {
        "compression": "zstd",
        "compression_level": 1,
        "row_group_size": 1_000_000,
    },
    "service, zstd 1, pages of 4 MiB": {
        "compression": "zstd",
        "compression_level": 1,
        "data_page_size": 4 * 1024 * 1024,
    },
    "service, zstd 1, row order not kept": {
        "compression": "zstd",
        "compression_level": 1,
        "maintain_order": False,
    },
    "service, lz4": {"compression": "lz4"},
    "service, uncompressed": {"compression": "uncompressed"},
}

_CHILD = """
import datetime as dt, json, resource, sys, tempfile, time
from pathlib import Path
import polars as pl

source, options, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
if options is None:
    start = time.perf_counter()
    pl.scan_csv(source, infer_schema_length=10000).sink_parquet(out, compression="zstd")
    seconds = time.perf_counter() - start
    written = out
else:
    from backend.pipeline import writer
    from backend.pipeline.normalize import normalize
    from backend.pipeline.options import UploadOptions
    from backend.pipeline.sniff import FileFormat
    writer.SINK_OPTIONS.clear()
    writer.SINK_OPTIONS.update(options)
    workdir = Path(tempfile.mkdtemp(dir=Path(out).parent))
    start = time.perf_counter()
    outcome = normalize(Path(source), FileFormat.CSV, workdir, datasource="sales",
        known_schema=None, options=UploadOptions(), uploaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    seconds = time.perf_counter() - start
    assert outcome.dataset is not None, outcome.report
    written = str(outcome.dataset)
usage = resource.getrusage(resource.RUSAGE_SELF)
frame = pl.read_parquet(written)
print(json.dumps({"seconds": seconds, "rows": frame.height, "bytes": Path(written).stat().st_size,
    "hash": int(frame.hash_rows().sum()),
    "ordered_hash": hash(tuple(frame.hash_rows().to_list())), "schema": str(frame.schema),
    "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_kib": usage.ru_maxrss}))
"""


def run_child(source: Path, options: dict[str, Any] | None, workdir: Path) -> dict[str, Any]:
    out = workdir / "out.parquet"
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source), json.dumps(options), str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BenchError(f"{options}: {result.stderr.strip()[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def summarize(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    current = runs["service, zstd level 1 (current)"][0]
    raw = statistics.median(r["seconds"] for r in runs[next(iter(SETTINGS))])
    table = []
    for name, got in runs.items():
        seconds = statistics.median(r["seconds"] for r in got)
        rows = got[0]["hash"] == current["hash"] and got[0]["schema"] == current["schema"]
        order = got[0]["ordered_hash"] == current["ordered_hash"]
        same = (
            "yes / yes"
            if rows and order
            else f"{'yes' if rows else 'NO'} / {'yes' if order else 'NO'}"
        )
        table.append(
            {
                "setting": name,
                "options": SETTINGS[name],
                "median_seconds": seconds,
                "min_seconds": min(r["seconds"] for r in got),
                "raw_over_this": raw / seconds,
                "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in got),
                "bytes": got[0]["bytes"],
                "same": "-" if SETTINGS[name] is None else same,
                "runs": got,
            }
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    started = utc_now()
    source = ensure_csv(args.rows, args.data_dir).path
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}

    with tempfile.TemporaryDirectory(prefix="csv-levers-") as tmp:
        for attempt in range(args.repeat):
            for name, options in SETTINGS.items():
                print(f"{name}, run {attempt + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
                workdir = Path(tempfile.mkdtemp(dir=tmp))
                runs[name].append(run_child(source, options, workdir))
    table = summarize(runs)
    print(f"\n{args.rows:,} rows, {source.stat().st_size / 1e6:,.0f} MB, {args.repeat} runs each")
    print(
        f"{'setting':<44}{'median s':>9}{'min s':>7}{'raw/this':>9}{'CPU s':>7}{'MB out':>8}"
        "  same rows / order"
    )
    for row in table:
        print(
            f"{row['setting']:<44}{row['median_seconds']:>9.2f}{row['min_seconds']:>7.2f}"
            f"{row['raw_over_this']:>9.2f}{row['median_cpu_seconds']:>7.2f}"
            f"{row['bytes'] / 1e6:>8.1f}  {row['same']}"
        )
    record = {
        "date": started.isoformat(),
        "command": command_line(),
        "rows": args.rows,
        "machine": machine("polars"),
        "settings": table,
    }
    write_results("csv_levers", record, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

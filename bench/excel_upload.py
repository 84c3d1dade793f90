"""Excel upload -> succeeded against raw Polars on the same workbook, before and after, in one run.

    python bench/excel_upload.py                      # 200,000 rows, 3 rounds
    python bench/excel_upload.py --rows 20000 --repeat 1 --uploads 2   # a quick look

One run:
1. Builds (or reuses) var/bench/sales_<rows>.xlsx from bench/generate_sales.py rows (inline
   strings, numbers as numbers; tests/factories.xlsx_bytes).
2. Baseline: `pl.read_excel(path, engine="calamine").write_parquet(out)` timed inside a fresh
   Python process.
3. For each checkout (--before, default /work/wt/before, and this one), alternating per round:
   a fresh uvicorn with its own SQLite and storage, `--uploads` uploads of the workbook one after
   the other (curl, poll until succeeded). The first upload of a server starts its reader child
   cold; later ones find a spare waiting (after this issue), so both are reported.
4. Prints medians and ratios (raw seconds / ours), writes bench/results/excel_upload-<time>.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    DATA_DIR,
    REPO_ROOT,
    command_line,
    load_average,
    machine,
    server_env,
    upload_and_wait,
    utc_now,
    uvicorn_server,
    write_results,
)

RAW = """
import sys, time, polars as pl
started = time.perf_counter()
pl.read_excel(sys.argv[1], engine="calamine").write_parquet(sys.argv[2])
print(time.perf_counter() - started)
"""


def ensure_workbook(rows: int) -> Path:
    path = DATA_DIR / f"sales_{rows}.xlsx"
    if path.is_file():
        return path
    from bench.generate_sales import HEADER, sales_rows
    from tests.factories import xlsx_bytes

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    print(f"building {path} ...", file=sys.stderr, flush=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(xlsx_bytes(rows=[HEADER, *sales_rows(rows)]))
    partial.rename(path)
    return path


def raw_seconds(path: Path, workdir: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", RAW, str(path), str(workdir / "raw.parquet")],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def service_seconds(checkout: Path, path: Path, uploads: int, workdir: Path) -> list[float]:
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        "STORAGE_URL": str(workdir / "storage"),
        "PYTHONPATH": str(checkout),
    }
    env = server_env(settings, drop=("DATABASE_", "STORAGE_", "WORKER_", "PYTHONPATH"))
    seconds = []
    with uvicorn_server(env, workdir / "server.log", cwd=checkout, grace=30) as server:
        for number in range(uploads):
            time.sleep(2)  # what a user takes between two uploads: a spare is ready by then
            started = time.perf_counter()
            upload_and_wait(server.url, path, datasource=f"sales{number}")  # not a duplicate
            seconds.append(time.perf_counter() - started)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (before, after, raw)")
    parser.add_argument("--uploads", type=int, default=3, help="uploads per server")
    parser.add_argument("--before", type=Path, default=Path("/work/wt/before"))
    args = parser.parse_args(argv)
    path = ensure_workbook(args.rows)
    checkouts = {"before": args.before, "after": REPO_ROOT}
    raw: list[float] = []
    first: dict[str, list[float]] = {name: [] for name in checkouts}
    later: dict[str, list[float]] = {name: [] for name in checkouts}
    for _ in range(args.repeat):
        for name, checkout in checkouts.items():
            with tempfile.TemporaryDirectory() as folder:
                raw.append(raw_seconds(path, Path(folder)))
                times = service_seconds(checkout, path, args.uploads, Path(folder))
            first[name].append(times[0])
            later[name].extend(times[1:])
    base = statistics.median(raw)
    record: dict[str, Any] = {
        "when": utc_now().isoformat(),
        "command": command_line(),
        "machine": machine("polars", "fastexcel"),
        "load_average": load_average(),
        "rows": args.rows,
        "raw_seconds": raw,
        "service_seconds": {"first": first, "later": later},
    }
    print(f"Excel {args.rows:,} rows; raw read_excel -> write_parquet median {base:.2f} s")
    print(f"{'checkout':8} {'upload':16} {'median s':>9} {'ratio':>6}")
    for name in checkouts:
        for label, values in (("first of a server", first[name]), ("later", later[name])):
            if values:
                median = statistics.median(values)
                print(f"{name:8} {label:16} {median:9.2f} {base / median:6.2f}")
                record.setdefault("ratios", {})[f"{name} {label}"] = base / median
    print("target: ratio >= 0.7")
    write_results("excel_upload", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Formats read in bounded memory and refused with what to do: a Parquet file's row groups,
password-protected workbooks, UTF-16 without a byte order mark, lines ending in a lone CR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
# Reads every batch of a Parquet source in a fresh interpreter; prints how far its peak RSS rose
# (VmHWM: ru_maxrss would count the pytest process the child was forked from).
_READ_ALL = """
import json, re, sys
from pathlib import Path
from backend.ingestion.sources.parquet import open_parquet

def kib(field):
    status = Path("/proc/self/status").read_text()
    return int(re.search(field + r":\\s+(\\d+)", status).group(1))

before = kib("VmRSS")
rows = [0, 0]
for batch in open_parquet(Path(sys.argv[1])).batches():
    rows = [rows[0] + batch.height, int(batch["__row"][-1])]
print(json.dumps({"growth_kib": kib("VmHWM") - before, "rows": rows}))
"""


def read_all(path: Path) -> tuple[float, list[int]]:
    done = subprocess.run(
        [sys.executable, "-c", _READ_ALL, str(path)],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer["growth_kib"] / 1024, answer["rows"]


def one_row_group(path: Path, rows: int) -> Path:
    index = pl.int_range(0, rows)
    frame = pl.select(
        when=(pl.date(2020, 1, 1) + pl.duration(days=index % 1500)).cast(pl.String),
        amount=index.cast(pl.Float64) / 7,
        **{f"text{i}": pl.format(f"value {i} of row {{}}", index) for i in range(8)},
    )
    frame.write_parquet(path, row_group_size=rows)
    return path


def test_a_parquet_file_of_one_huge_row_group_is_read_in_bounded_batches(tmp_path: Path) -> None:
    # Each batch decoded the whole row group first: 2M rows took 1.05 GB, 6M 2.1 GB.
    small, (rows, last) = read_all(one_row_group(tmp_path / "small.parquet", 500_000))
    assert rows == last == 500_000
    large, (rows, last) = read_all(one_row_group(tmp_path / "large.parquet", 4_000_000))
    assert rows == last == 4_000_000

    assert large < 1.5 * small + 50, (
        f"peak RSS rose {small:.0f} MiB for 0.5M rows, {large:.0f} for 4M"
    )

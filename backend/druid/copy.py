"""The copy of a dataset that a core Druid can read: JSON lines or CSV, compressed.

Values keep their types (numbers stay numbers in JSON); `__time` and every other timestamp are
ISO-8601 in UTC, dates `YYYY-MM-DD`, times `HH:MM:SS`. Blocking (Polars, file I/O): call it in a
thread. The file name ends with the compression's extension, which is how Druid knows to
decompress what it reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from backend.druid.spec import InputFormat

# Druid decompresses by the file name's extension; gzip is read by every Druid version.
COMPRESSION: Literal["gzip"] = "gzip"
EXTENSION = {InputFormat.JSON: ".json.gz", InputFormat.CSV: ".csv.gz"}


def copy_name(stem: str, kind: InputFormat) -> str:
    return f"{stem}{EXTENSION[kind]}"


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr | None:
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        utc = column.dt.replace_time_zone("UTC") if dtype.time_zone is None else column
        return utc.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias(name)
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d").alias(name)
    if dtype == pl.Time:
        return column.dt.strftime("%H:%M:%S").alias(name)
    return None


def write_copy(dataset: Path, target: Path, kind: InputFormat) -> Path:
    """Write the Druid copy of a Parquet dataset to `target` (streamed: memory stays flat)."""
    if kind not in EXTENSION:
        raise ValueError(f"Druid reads {kind.value} from the dataset itself; no copy is needed")
    frame = pl.scan_parquet(dataset)
    converted = [
        expr
        for name, dtype in frame.collect_schema().items()
        if (expr := _as_text(name, dtype)) is not None
    ]
    if converted:
        frame = frame.with_columns(converted)
    if kind is InputFormat.JSON:
        frame.sink_ndjson(target, compression=COMPRESSION, compression_level=1)
    else:
        frame.sink_csv(target, compression=COMPRESSION, compression_level=1)
    return target

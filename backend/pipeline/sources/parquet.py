"""Parquet source: any valid file with flat columns, read in batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from backend.pipeline.sources.base import (
    DEFAULT_LIMITS,
    PROBLEM,
    ROW,
    InputLimits,
    ReadError,
    SourceInfo,
    check_header,
    check_name_lengths,
)

BATCH_ROWS = 250_000
_NESTED = (pl.List, pl.Array, pl.Struct, pl.Object)
# Types no column of ours can hold: bytes, and durations (Polars cannot even read them as text).
_UNSUPPORTED = (pl.Binary, pl.Duration)
_INT64_MAX = 2**63 - 1


@dataclass
class ParquetSource:
    info: SourceInfo
    header: list[str]
    _path: Path
    # Unsigned 64-bit columns holding values above Int64's range, read as floats (as a CSV's
    # numbers that large are inferred).
    _as_float: tuple[str, ...] = ()

    def batches(self) -> Iterator[pl.DataFrame]:
        """Row ranges read one at a time: a batch of the whole scan would hold a whole row group
        decoded, whatever its size (a file written as one row group of 6M rows took 2 GB)."""
        try:
            total = pl.scan_parquet(self._path).select(pl.len()).collect().item()
            for offset in range(0, total, BATCH_ROWS):
                scan = pl.scan_parquet(self._path).slice(offset, BATCH_ROWS)
                if self._as_float:
                    scan = scan.with_columns(pl.col(n).cast(pl.Float64) for n in self._as_float)
                # Named as the header is (trimmed): a name with spaces around it was not found.
                batch = scan.collect().rename(self._trimmed())
                row = pl.int_range(offset + 1, offset + 1 + batch.height, dtype=pl.Int64)
                yield batch.select(
                    row.alias(ROW), pl.all(), pl.lit(None, dtype=pl.String).alias(PROBLEM)
                )
        except pl.exceptions.PolarsError as exc:
            raise _damaged(exc) from exc

    def _trimmed(self) -> dict[str, str]:
        names = pl.read_parquet_schema(self._path)
        return {old: new for old, new in zip(names, self.header, strict=True) if old != new}


def _damaged(exc: Exception) -> ReadError:
    return ReadError(
        f"the Parquet file is damaged or truncated: {str(exc).splitlines()[0] if str(exc) else exc}",
        "Write the file again and upload the complete file.",
    )


def open_parquet(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> ParquetSource:
    try:
        schema = pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _damaged(exc) from exc
    # Before any message names a column.
    check_name_lengths([name.strip() for name in schema], limits.column_name_chars)
    nested = [f"{name} ({dtype})" for name, dtype in schema.items() if isinstance(dtype, _NESTED)]
    if nested:
        raise ReadError(
            f"nested columns are not supported: {', '.join(nested[:10])}",
            "Flatten lists and structs into plain columns before uploading.",
        )
    unsupported = [
        f"{name} ({dtype})" for name, dtype in schema.items() if isinstance(dtype, _UNSUPPORTED)
    ]
    if unsupported:
        raise ReadError(
            f"columns of a type that cannot be loaded: {', '.join(unsupported[:10])}",
            "Store bytes as text (e.g. base64) and durations as numbers (e.g. seconds) before "
            "uploading.",
        )
    header = check_header(list(schema), limits.column_name_chars)
    return ParquetSource(parquet_info(), header, path, _beyond_int64(path, schema))


def parquet_info() -> SourceInfo:
    """How a report describes a Parquet file."""
    return SourceInfo(format="parquet", encoding=None, delimiter=None, sheet=None, row_label="row")


def _beyond_int64(path: Path, schema: dict[str, pl.DataType]) -> tuple[str, ...]:
    unsigned = [name for name, dtype in schema.items() if dtype == pl.UInt64]
    if not unsigned:
        return ()
    try:
        highest = pl.scan_parquet(path).select(pl.col(unsigned).max()).collect().row(0)
    except pl.exceptions.PolarsError as exc:
        raise _damaged(exc) from exc
    return tuple(n for n, top in zip(unsigned, highest, strict=True) if (top or 0) > _INT64_MAX)

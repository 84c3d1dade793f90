"""Parquet source: any valid file with flat columns, read in batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from backend.ingestion.sources.base import PROBLEM, ROW, ReadError, SourceInfo, check_header

BATCH_ROWS = 250_000
_NESTED = (pl.List, pl.Array, pl.Struct, pl.Object)


@dataclass
class ParquetSource:
    info: SourceInfo
    header: list[str]
    _path: Path

    def batches(self) -> Iterator[pl.DataFrame]:
        scan = pl.scan_parquet(self._path).with_row_index(ROW, offset=1)
        try:
            for batch in scan.collect_batches(chunk_size=BATCH_ROWS):
                yield batch.with_columns(
                    pl.col(ROW).cast(pl.Int64), pl.lit(None, dtype=pl.String).alias(PROBLEM)
                )
        except pl.exceptions.PolarsError as exc:
            raise _damaged(exc) from exc


def _damaged(exc: Exception) -> ReadError:
    return ReadError(
        f"the Parquet file is damaged or truncated: {str(exc).splitlines()[0] if str(exc) else exc}",
        "Write the file again and upload the complete file.",
    )


def open_parquet(path: Path) -> ParquetSource:
    try:
        schema = pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _damaged(exc) from exc
    nested = [f"{name} ({dtype})" for name, dtype in schema.items() if isinstance(dtype, _NESTED)]
    if nested:
        raise ReadError(
            f"nested columns are not supported: {', '.join(nested[:10])}",
            "Flatten lists and structs into plain columns before uploading.",
        )
    header = check_header(list(schema))
    info = SourceInfo(format="parquet", encoding=None, delimiter=None, sheet=None, row_label="row")
    return ParquetSource(info, header, path)

"""Writes an uploaded file as typed Parquet, streaming so memory stays flat."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from backend.ingestion.readers import FileFormat, ReadError, open_frame


@dataclass(frozen=True)
class NormalizedDataset:
    rows: int
    columns: dict[str, str]


def to_parquet(source: Path, file_format: FileFormat, target: Path) -> NormalizedDataset:
    """Blocking (Polars): run it in a thread."""
    frame = open_frame(source, file_format)
    try:
        frame.sink_parquet(target, compression="zstd")
        written = pl.scan_parquet(target)
        rows = int(written.select(pl.len()).collect().item())
        schema = written.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise ReadError(
            f"could not read the file as {file_format.value}: {_first_line(exc)}"
        ) from exc
    if not schema:
        raise ReadError("the file has no columns")
    return NormalizedDataset(
        rows=rows, columns={name: str(dtype) for name, dtype in schema.items()}
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""One pass for a clean CSV: read, convert, check and write the Parquet in a single streaming
Polars plan, with every Pandera check evaluated as an expression inside it.

A clean file (the common case) pays only for that pass. The first row that fails any check, any
value that does not convert, a ragged line, a byte that is not UTF-8, or a repeated key stops the
pass; the caller then takes the batch path (`normalize._run`), which reads the file again and
reports every problem with its line number and value. So reports are those of the batch path
whenever there is something to report, and a file the batch path would load in full is loaded
here with the same rows, types and report.

Taken only where a failed row cannot slip through: every column of the schema is required (a short
row leaves a null, which fails), the header matches the schema's columns exactly (no extra column
left unchecked), every check is one `expressions` can translate, and text columns without a
strict check are guarded against NUL bytes (which the batch path refuses).
"""

from __future__ import annotations

import codecs
import datetime as dt
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import polars as pl

from backend.ingestion.sources.base import ReadError, SourceInfo, check_header
from backend.ingestion.sources.csv import read_head, read_header, sniff_delimiter
from backend.ingestion.validation import reserved
from backend.ingestion.validation.expressions import schema_checks, strictly_checked
from backend.ingestion.validation.report import Report
from backend.ingestion.validation.schema import TIME, DatasetSchema, match_columns
from backend.ingestion.validation.types import ColumnType, convert_fast
from backend.ingestion.validation.validator import time_of

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
OK = "__ok"
KEY = "__key"


class RowFailed(Exception):
    """A row failed a check: the one-pass plan stops here."""


@dataclass
class Clean:
    """A file loaded in one pass."""

    dataset: Path
    report: Report
    time_range: tuple[dt.datetime, dt.datetime]


class _Gate:
    """Inside the plan, per streamed chunk: stops the plan at the first chunk holding a failed
    row; otherwise counts its rows (the task's progress), keeps its unique keys (encoded, 8 bytes
    each for sales) and the time range, so nothing is read back from the written file."""

    def __init__(self, on_rows: Callable[[int], None] | None) -> None:
        self.on_rows = on_rows
        self.rows = 0
        self.keys: list[pl.Series] = []
        self.ends: list[tuple[dt.datetime, dt.datetime]] = []
        self._lock = threading.Lock()

    def __call__(self, chunk: pl.Series) -> pl.Series:
        ok = chunk.struct.field(OK)
        if not ok.all():
            raise RowFailed
        times = chunk.struct.field(TIME)
        with self._lock:
            self.rows += len(ok)
            rows = self.rows
            if KEY in chunk.struct.fields:
                self.keys.append(chunk.struct.field(KEY))
            if len(ok):
                self.ends.append(cast(tuple[dt.datetime, dt.datetime], (times.min(), times.max())))
        if self.on_rows is not None:
            self.on_rows(rows)
        return ok

    def time_range(self) -> tuple[dt.datetime, dt.datetime]:
        return min(low for low, _ in self.ends), max(high for _, high in self.ends)

    def repeats(self, loaded_keys: Callable[[], pl.Series | None]) -> bool:
        """Whether a key repeats within the file or is one the datasource already holds."""
        if not self.keys:
            return False
        keys = pl.concat(self.keys, rechunk=True)
        if keys.n_unique() < len(keys):
            return True
        loaded = loaded_keys()
        return loaded is not None and bool(keys.is_in(loaded.implode()).any())


# Numbers are parsed by the CSV reader itself. It accepts what `types.convert` accepts once a
# value is trimmed, refuses the rest (the plan stops: the batch path then decides), and lets
# NaN and infinity through, which the checks below refuse as the batch path does.
_READ_AS: dict[ColumnType, pl.DataType] = {
    ColumnType.FLOAT: pl.Float64(),
    ColumnType.INTEGER: pl.Int64(),
}


def _checks(schema: DatasetSchema) -> list[pl.Expr] | None:
    """What every row must pass, on the converted columns; None: not for this path."""
    if not all(c.required for c in schema.columns):
        return None
    declared: list[pl.Expr] = []
    strict: set[str] = set()
    if schema.checks is not None:
        pandera = schema.checks()
        found = schema_checks(pandera)
        if found is None:
            return None
        declared, strict = found, strictly_checked(pandera)
    present = [
        pl.col(c.name).str.len_bytes() > 0
        if c.type is ColumnType.STRING
        else pl.col(c.name).is_not_null()
        for c in schema.columns
    ]
    # The batch path refuses NUL bytes; a strict check refuses them too, other text must not.
    no_nul = [
        pl.col(c.name).str.contains("\x00", literal=True).not_()
        for c in schema.columns
        if c.type is ColumnType.STRING and c.name not in strict
    ]
    finite = [pl.col(c.name).is_finite() for c in schema.columns if c.type is ColumnType.FLOAT]
    return [*present, *no_nul, *finite, *declared]


def _converted(schema: DatasetSchema, source_of: dict[str, str]) -> list[pl.Expr]:
    """Each schema column from the file's: text and numbers as read, the rest converted as the
    batch path's first attempt does (a miss fails the row, and the batch path tries again)."""
    found = []
    for spec in schema.columns:
        raw = pl.col(source_of[spec.name])
        if spec.type is ColumnType.STRING or spec.type in _READ_AS:
            found.append(raw.alias(spec.name))
        else:
            found.append(convert_fast(raw, pl.String(), spec.type, spec.formats).alias(spec.name))
    return found


def load_clean_csv(
    path: Path,
    workdir: Path,
    schema: DatasetSchema,
    *,
    uploaded_at: dt.datetime,
    on_rows: Callable[[int], None] | None = None,
    loaded_keys: Callable[[], pl.Series | None] = lambda: None,
) -> Clean | None:
    """The file loaded in one pass, or None when the batch path must look at it."""
    checks = _checks(schema)
    if checks is None:
        return None
    with path.open("rb") as handle:
        if handle.read(4).startswith(_BOMS):
            return None
    try:
        delimiter = sniff_delimiter(read_head(path))
        raw_header = read_header(path, delimiter)
        header = check_header(raw_header)
        reserved.check_internal(header)
    except (ReadError, UnicodeDecodeError):
        return None
    match = match_columns(header, schema)
    if match.missing or match.extra:
        return None
    source_of = {target: raw_header[header.index(src)] for src, target in match.mapping.items()}
    read_as = {source_of[c.name]: _READ_AS.get(c.type, pl.String()) for c in schema.columns}
    gate = _Gate(on_rows)
    watched = [pl.col(OK), pl.col(TIME)]
    if schema.unique is not None:
        encode = pl.col(schema.unique) if schema.unique_encoding is None else schema.unique_encoding
        watched.append(encode.alias(KEY))
    plan = (
        pl.scan_csv(
            path,
            has_header=True,
            separator=delimiter,
            schema={name: read_as[name] for name in raw_header},
            infer_schema=False,
            empty_string_is_null=False,
        )
        .select(_converted(schema, source_of))
        .with_columns(
            # A null (a short row's missing field) fails the row.
            pl.all_horizontal(checks).fill_null(False).alias(OK),
            time_of(schema, uploaded_at).alias(TIME),
        )
        .filter(pl.struct(watched).map_batches(gate, return_dtype=pl.Boolean, is_elementwise=True))
        .select([*schema.names, TIME])
    )
    # A folder of its own: when the plan stops, Polars' writer may still create its file just
    # after the error is raised; removing the folder keeps that file out of the batch path's way.
    scratch = workdir / "one-pass"
    scratch.mkdir(exist_ok=True)
    written = scratch / "dataset.parquet"
    try:
        plan.sink_parquet(written, compression="zstd", compression_level=1)
        if not gate.rows or gate.repeats(loaded_keys):
            return None
        target = written.rename(workdir / "dataset.parquet")
    except (pl.exceptions.PolarsError, RowFailed):
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Clean(target, _report(schema, delimiter, gate.rows), gate.time_range())


def _report(schema: DatasetSchema, delimiter: str, rows: int) -> Report:
    """What the batch path reports for a file whose every row is valid."""
    info = SourceInfo(
        format="csv",
        encoding="utf-8",
        delimiter={"\t": "tab"}.get(delimiter, delimiter),
        sheet=None,
        row_label="line",
    )
    report = Report(info, rows_read=rows, rows_valid=rows)
    report.columns = [c.as_dict() for c in schema.columns]
    report.time = schema.time.describe()
    report.schema.extra_ignored = schema.ignore_extra
    report.add_counts({c.name: rows for c in schema.columns}, {c.name: 0 for c in schema.columns})
    report.outcome = "loaded"
    return report

"""One pass for a clean CSV: read, convert, check and write the Parquet in a single streaming
Polars plan, with every Pandera check evaluated as an expression inside it.

A clean file (the common case) pays only for that pass. The first row that fails any check, any
value that does not convert, a ragged line, a byte that is not UTF-8, or a repeated key stops the
pass; the caller then takes the batch path (`batches.run_batches`), which reads the file again and
reports every problem with its line number and value. So reports are those of the batch path
whenever there is something to report, and a file the batch path would load in full is loaded
here with the same rows, types and report.

Taken only where a failed row cannot slip through: the header matches the schema's columns
exactly (no extra column left unchecked), every check is one `expressions` can translate, empty
cells are nulls (a required column refuses them), the file's last field is never empty (a short
row leaves it empty: the batch path counts fields per line), and text is guarded against what the
batch path would change or refuse (spaces around it, NUL bytes) unless a check against a fixed
set of plain values refuses those already. Columns are named by the file's own header (a name
Polars reads differently stops the plan).
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

from backend.contracts.expressions import schema_checks, strictly_checked
from backend.contracts.schema import TIME, DatasetSchema, match_columns
from backend.contracts.types import ColumnType, convert_fast
from backend.pipeline import reserved, writer
from backend.pipeline.report import Report
from backend.pipeline.sniff import SNIFF_BYTES, utf16_without_bom
from backend.pipeline.sources import csv as csv_source
from backend.pipeline.sources.base import (
    DEFAULT_LIMITS,
    PROBLEM,
    ROW,
    InputLimits,
    ReadError,
    check_header,
)
from backend.pipeline.sources.bounds import check_line_lengths
from backend.pipeline.sources.csv import (
    csv_info,
    read_head,
    read_header,
    sniff_delimiter,
)
from backend.pipeline.validator import time_of

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
    schema: DatasetSchema
    time_range: tuple[dt.datetime, dt.datetime]


class _Gate:
    """Inside the plan, per streamed chunk: stops the plan at the first chunk holding a failed
    row; otherwise counts its rows (the task's progress), keeps its unique keys (encoded, 8 bytes
    each for sales) and the time range, so nothing is read back from the written file."""

    def __init__(self, on_rows: Callable[[int], None] | None, nullable: list[str]) -> None:
        self.on_rows = on_rows
        self.nullable = nullable  # columns whose values are counted (the others are required)
        self.nulls = dict.fromkeys(nullable, 0)
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
            for name in self.nullable:
                self.nulls[name] += chunk.struct.field(name).null_count()
            if len(ok):
                self.ends.append(cast(tuple[dt.datetime, dt.datetime], (times.min(), times.max())))
        if self.on_rows is not None:
            self.on_rows(rows)
        return ok

    def present(self) -> dict[str, int]:
        """Values per column that may be empty."""
        return {name: self.rows - nulls for name, nulls in self.nulls.items()}

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
TEXT = "__text:"  # a converted column's text, as read
LAST = "__last"  # the file's last field is empty (or missing: a short row)


@dataclass(frozen=True)
class _Plan:
    columns: list[pl.Expr]  # the schema's columns, converted, plus the flags below
    checks: list[pl.Expr]  # every row must pass each


def _plan(schema: DatasetSchema, source_of: dict[str, str], last: str) -> _Plan | None:
    """Conversions and checks; None when a check cannot be evaluated here.

    Empty cells are read as null (so are the missing fields of a short row). Text and numbers
    are kept as read; other types are converted as the batch path's first attempt does, and a
    value present that does not convert fails the row (the batch path tries harder, or rejects).
    """
    declared: list[pl.Expr] = []
    strict: set[str] = set()
    if schema.checks is not None:
        pandera = schema.checks()
        found = schema_checks(pandera)
        if found is None:
            return None
        declared, strict = found, strictly_checked(pandera)
    columns = []
    checks = [pl.col(LAST).not_()]
    for spec in schema.columns:
        raw = pl.col(source_of[spec.name])
        if spec.type is ColumnType.STRING or spec.type in _READ_AS:
            columns.append(raw.alias(spec.name))
        else:
            # Converted once; the text is kept beside it (dropped before writing) to tell a value
            # that did not convert from an empty one.
            converted = convert_fast(raw, pl.String(), spec.type, spec.formats)
            columns += [converted.alias(spec.name), raw.alias(TEXT + spec.name)]
            checks.append(pl.col(spec.name).is_not_null() | pl.col(TEXT + spec.name).is_null())
        if spec.required:
            checks.append(pl.col(spec.name).is_not_null())
        if spec.type is ColumnType.STRING and spec.name not in strict:
            # The batch path trims text and refuses NUL bytes; a check against a fixed set of
            # plain values refuses both already, other text must have neither.
            # (\s is Unicode's White_Space, what strip_chars() strips)
            odd = pl.col(spec.name).str.contains(r"^\s|\s$|\x00")
            checks.append(odd.not_().fill_null(True))
        if spec.type is ColumnType.FLOAT:
            checks.append(pl.col(spec.name).is_finite().fill_null(True))
    # A short row's missing fields are empty too: a file whose last field is ever empty is left
    # to the batch path, which counts the fields on each line.
    columns.append(pl.col(last).is_null().alias(LAST))
    return _Plan(columns, [*checks, *declared])


def _sample(path: Path, delimiter: str, raw_header: list[str], header: list[str]) -> pl.DataFrame:
    """The rows the batch path infers a new datasource's schema from: its first batch."""
    rows = pl.read_csv(
        path,
        has_header=True,
        separator=delimiter,
        schema=dict.fromkeys(raw_header, pl.String),
        empty_string_is_null=False,
        n_rows=csv_source.BATCH_ROWS - 1,  # the first batch holds the header record too
    )
    return rows.rename(dict(zip(raw_header, header, strict=True))).with_columns(
        pl.lit(None, pl.Int64).alias(ROW), pl.lit(None, pl.String).alias(PROBLEM)
    )


SchemaFor = Callable[[list[str], Callable[[], pl.DataFrame]], DatasetSchema]


def load_clean_csv(
    path: Path,
    workdir: Path,
    schema_for: SchemaFor | DatasetSchema,
    *,
    uploaded_at: dt.datetime,
    on_rows: Callable[[int], None] | None = None,
    loaded_keys: Callable[[DatasetSchema], pl.Series | None] = lambda schema: None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Clean | None:
    """The file loaded in one pass, or None when the batch path must look at it.

    `schema_for(header, sample)`: the schema for the file's header (`sample()` gives the rows
    the batch path would infer it from); a ReadError there also leaves the file to the batch path.
    So does a file over `limits`: the batch path refuses it, saying which limit.
    """
    head = _read_head(path, schema_for, limits)
    if head is None:
        return None
    built = _stream(path, head, uploaded_at, on_rows)
    if built is None:
        return None
    stream, gate = built
    target = _sink(stream, gate, workdir, lambda: loaded_keys(head.schema))
    if target is None:
        return None
    report = _report(head.schema, head.delimiter, gate.rows, gate.present())
    return Clean(target, report, head.schema, gate.time_range())


@dataclass(frozen=True)
class _Head:
    """What the one pass knows before its plan: the file's delimiter, its header as written and
    as checked, and the schema its rows must have."""

    delimiter: str
    raw_header: list[str]
    header: list[str]
    schema: DatasetSchema


def _read_head(
    path: Path, schema_for: SchemaFor | DatasetSchema, limits: InputLimits
) -> _Head | None:
    """The file's head and schema, or None when the batch path must read it (a BOM or UTF-16 to
    transcode, a header or line over `limits`, a schema that cannot be chosen)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(_BOMS) or utf16_without_bom(head) is not None:
        return None  # transcoded by the batch path
    try:
        delimiter = sniff_delimiter(read_head(path))
        raw_header = read_header(path, delimiter, limits.header_bytes)
        header = check_header(raw_header, limits.column_name_chars)
        check_line_lengths(path, limits.line_bytes)
        reserved.check_internal(header)
        if isinstance(schema_for, DatasetSchema):
            schema = schema_for
        else:
            schema = schema_for(header, lambda: _sample(path, delimiter, raw_header, header))
        reserved.check_time(header, schema)
    except (ReadError, UnicodeDecodeError, pl.exceptions.PolarsError):
        return None
    return _Head(delimiter, raw_header, header, schema)


def _stream(
    path: Path,
    head: _Head,
    uploaded_at: dt.datetime,
    on_rows: Callable[[int], None] | None,
) -> tuple[pl.LazyFrame, _Gate] | None:
    """The streaming plan (read, convert, check, gate) and its gate; None when the file's
    columns are not exactly the schema's or a check cannot be evaluated in the plan."""
    schema, raw_header = head.schema, head.raw_header
    match = match_columns(head.header, schema)
    if match.missing or match.extra:
        return None
    source_of = {
        target: raw_header[head.header.index(src)] for src, target in match.mapping.items()
    }
    source_of.update({name: name for name in match.absent})  # read as empty: see below
    plan = _plan(schema, source_of, raw_header[-1])
    if plan is None:
        return None
    read_as = {source_of[c.name]: _READ_AS.get(c.type, pl.String()) for c in schema.columns}
    absent = [pl.lit(None, read_as[name]).alias(name) for name in match.absent]
    gate = _Gate(on_rows, [c.name for c in schema.columns if not c.required])
    watched = [pl.col(OK), pl.col(TIME), *[pl.col(c) for c in gate.nullable]]
    if schema.unique is not None:
        encode = pl.col(schema.unique) if schema.unique_encoding is None else schema.unique_encoding
        watched.append(encode.alias(KEY))
    stream = (
        pl.scan_csv(
            path,
            has_header=True,
            separator=head.delimiter,
            schema={name: read_as[name] for name in raw_header},
            infer_schema=False,
            empty_string_is_null=True,
        )
        .with_columns(absent)
        .select(plan.columns)
        .with_columns(
            pl.all_horizontal(plan.checks).fill_null(False).alias(OK),
            time_of(schema, uploaded_at).alias(TIME),
        )
        .filter(pl.struct(watched).map_batches(gate, return_dtype=pl.Boolean, is_elementwise=True))
        .select([*schema.names, TIME])
    )
    return stream, gate


def _sink(
    stream: pl.LazyFrame,
    gate: _Gate,
    workdir: Path,
    loaded_keys: Callable[[], pl.Series | None],
) -> Path | None:
    """Run the plan into `workdir`'s dataset.parquet; None when it stopped, read no row, or a
    key repeats (nothing is left behind then)."""
    # A folder of its own: when the plan stops, Polars' writer may still create its file just
    # after the error is raised; removing the folder keeps that file out of the batch path's way.
    scratch = workdir / "one-pass"
    scratch.mkdir(exist_ok=True)
    written = scratch / "dataset.parquet"
    try:
        stream.sink_parquet(written, **writer.SINK_OPTIONS)
        if not gate.rows or gate.repeats(loaded_keys):
            return None
        return written.rename(workdir / "dataset.parquet")
    except (pl.exceptions.PolarsError, RowFailed):
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _report(schema: DatasetSchema, delimiter: str, rows: int, present: dict[str, int]) -> Report:
    """What the batch path reports for a file whose every row is valid."""
    report = Report(csv_info("utf-8", delimiter), rows_read=rows, rows_valid=rows)
    report.describe_schema(schema)
    report.add_counts(
        {c.name: present.get(c.name, rows) for c in schema.columns},
        {c.name: 0 for c in schema.columns},
    )
    report.outcome = "loaded"
    return report

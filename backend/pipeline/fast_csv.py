"""The one pass (backend.pipeline.fast) for a CSV: the file read by Polars' CSV reader.

Besides what stops every one pass, a ragged line or a byte that is not UTF-8 stops this one.
Taken only where a failed row cannot slip through: the header matches the schema's columns
exactly (no extra column left unchecked), every check is one `expressions` can translate, empty
cells are nulls (a required column refuses them), the file's last field is never empty (a short
row leaves it empty: the batch path counts fields per line), no byte is NUL (the bytes are
searched with the line lengths), and text is guarded against what the batch path would change
(spaces around it) unless a check against a fixed set of plain values refuses that already.
Columns are named by the file's own header (a name Polars reads differently stops the plan).
"""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from backend.contracts.schema import DatasetSchema, match_columns
from backend.contracts.types import ColumnType, convert_fast
from backend.pipeline import fast, reserved
from backend.pipeline.fast import Clean, KeysFor, SchemaFor
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
from backend.pipeline.sources.bounds import BLOCK_BYTES, Scanned, check_line_lengths
from backend.pipeline.sources.csv import (
    csv_info,
    read_head,
    read_header,
    sniff_delimiter,
)

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


# Numbers are parsed by the CSV reader itself. It accepts what `types.convert` accepts once a
# value is trimmed, refuses the rest (the plan stops: the batch path then decides), and lets
# NaN and infinity through, which the checks below refuse as the batch path does.
_READ_AS: dict[ColumnType, pl.DataType] = {
    ColumnType.FLOAT: pl.Float64(),
    ColumnType.INTEGER: pl.Int64(),
}
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
    found = fast.declared_checks(schema)
    if found is None:
        return None
    declared, strict = found
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
            columns += [converted.alias(spec.name), raw.alias(fast.TEXT + spec.name)]
            checks.append(fast.converted(spec))
        checks += fast.value_checks(spec, strict, nul_free=True)  # see _read_head
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


def load_clean_csv(
    path: Path,
    workdir: Path,
    schema_for: SchemaFor | DatasetSchema,
    *,
    uploaded_at: dt.datetime,
    on_rows: Callable[[int], None] | None = None,
    loaded_keys: KeysFor = lambda schema: None,
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
    built = _stream(path, head)
    if built is None:
        return None
    stream, checks = built
    info = csv_info("utf-8", head.delimiter)
    return fast.load(
        stream,
        checks,
        head.schema,
        info,
        workdir,
        uploaded_at=uploaded_at,
        on_rows=on_rows,
        loaded_keys=loaded_keys,
    )


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
    transcode, a header or line over `limits`, a NUL byte, a schema that cannot be chosen)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(_BOMS) or utf16_without_bom(head) is not None:
        return None  # transcoded by the batch path
    try:
        delimiter = sniff_delimiter(read_head(path))
        raw_header = read_header(path, delimiter, limits.header_bytes)
        header = check_header(raw_header, limits.column_name_chars)
        reserved.check_internal(header)

        def choose() -> DatasetSchema:
            if isinstance(schema_for, DatasetSchema):
                schema = schema_for
            else:
                schema = schema_for(header, lambda: _sample(path, delimiter, raw_header, header))
            reserved.check_time(header, schema)
            return schema

        schema, scanned = _bounded(path, limits.line_bytes, choose)
        if scanned.nul:
            return None  # the batch path refuses a NUL byte where it stands
    except (ReadError, UnicodeDecodeError, pl.exceptions.PolarsError):
        return None
    return _Head(delimiter, raw_header, header, schema)


def _bounded(
    path: Path, line_bytes: int, choose: Callable[[], DatasetSchema]
) -> tuple[DatasetSchema, Scanned]:
    """`choose()` (which may read the first batch) run once the lines it reads are bounded, and
    what the whole file's bytes hold. Without a quote in the first lines, the first batch's
    records are those lines: they are bounded first, and the rest of the file in a thread while
    `choose` runs (0.05-0.08 s less for a 670 MB file). With one, a record may run past them, so
    the whole file is bounded first. Either way a refusal of the bound comes before any error of
    `choose`, as when the bound ran first. A file of one block was read whole already."""
    first = check_line_lengths(path, line_bytes, first_lines=csv_source.BATCH_ROWS + 1)
    if path.stat().st_size <= BLOCK_BYTES:
        return choose(), first
    if first.quote:
        whole = check_line_lengths(path, line_bytes)
        return choose(), whole
    with ThreadPoolExecutor(1, thread_name_prefix="csv-bounds") as pool:
        scan = pool.submit(check_line_lengths, path, line_bytes)
        try:
            schema = choose()
        except Exception:
            scan.result()  # the bound's ReadError, if any, is the one to report
            raise
        return schema, scan.result()


def _stream(path: Path, head: _Head) -> tuple[pl.LazyFrame, list[pl.Expr]] | None:
    """The streaming read and conversion, and the checks; None when the file's columns are not
    exactly the schema's or a check cannot be evaluated in the plan."""
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
    )
    return stream, plan.checks

"""The one pass (backend.pipeline.fast) for a Parquet file: `scan_parquet` streamed row group by
row group, so memory does not grow with the file.

A column whose Parquet type already is the schema's type is taken as it is (no round trip through
text); any other column is converted by the very expression the batch path tries first
(`types.convert_fast`), so a value it converts comes out the same. Whatever the batch path would
change or decide on stops the pass: a value that does not convert, an empty text or text with
spaces around it, a column of a type the batch path refuses or reads differently (nested, bytes,
durations, unsigned 64-bit numbers, categories...), a column name with spaces around it, a file
without rows. When in doubt the file is left to the batch path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl

from backend.contracts.schema import ColumnSpec, DatasetSchema, match_columns
from backend.contracts.types import POLARS_TYPES, ColumnType, convert_fast
from backend.pipeline import fast, reserved, writer
from backend.pipeline.fast import Clean, KeysFor, SchemaFor
from backend.pipeline.sources.base import (
    DEFAULT_LIMITS,
    InputLimits,
    ReadError,
    check_header,
)
from backend.pipeline.sources.parquet import open_parquet, parquet_info

# Parquet types the pass reads; any other leaves the file to the batch path. UInt64 is not among
# them: the batch path reads it as float when a value is beyond Int64.
_ACCEPTED: tuple[type[pl.DataType], ...] = (
    pl.String,
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.Float32,
    pl.Float64,
    pl.Boolean,
    pl.Date,
    pl.Datetime,
    pl.Time,
)
# Text converted to these types by `convert_fast` is null when it has spaces around it (Polars'
# casts refuse them; tests/pipeline/test_one_pass_parquet.py holds it to that), so the check that
# the value converted already refuses it. Dates and times may be read past leading spaces: their
# text is checked for spaces. Text kept as text is checked by `fast.value_checks` (or a fixed set
# of plain values). A regular expression per value costs ~20 ms per 2M-row column.
CONVERT_REFUSES_SPACES = (ColumnType.INTEGER, ColumnType.FLOAT)
# Types whose values the batch path keeps as they are when the column already has them.
_AS_IS = (
    ColumnType.STRING,
    ColumnType.INTEGER,
    ColumnType.FLOAT,
    ColumnType.BOOLEAN,
    ColumnType.DATE,
    ColumnType.TIME,
)


def load_clean_parquet(
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

    `schema_for(header, sample)`: as for `fast_csv.load_clean_csv`; `sample()` gives the batch
    path's first batch of this file.
    """
    found = _schema(path, schema_for, limits)
    if found is None:
        return None
    types, schema = found
    built = typed_plan(types, schema)
    if built is None:
        return None
    columns, checks = built
    stream = pl.scan_parquet(path).select(columns)
    # Smaller morsels: Polars' own size held a 5M-row file's pass at 630-680 MiB, this one at
    # 410-450 MiB for the same CPU time (bench/RESULTS.md, issue 28). A process-wide setting
    # while it lasts: a CSV pass running beside it only gets smaller morsels too.
    with pl.Config(streaming_chunk_size=writer.PARQUET_CHUNK_ROWS):
        return fast.load(
            stream,
            checks,
            schema,
            parquet_info(),
            workdir,
            uploaded_at=uploaded_at,
            on_rows=on_rows,
            loaded_keys=loaded_keys,
        )


def _schema(
    path: Path, schema_for: SchemaFor | DatasetSchema, limits: InputLimits
) -> tuple[dict[str, pl.DataType], DatasetSchema] | None:
    """The file's column types and the schema its rows must have; None when the batch path
    must read it (a type or name it reads differently, no rows, a schema that cannot be chosen)."""
    try:
        types = dict(pl.read_parquet_schema(path))
        if any(name != name.strip() for name in types):
            return None
        if not all(isinstance(dtype, _ACCEPTED) for dtype in types.values()):
            return None
        if not pl.scan_parquet(path).select(pl.len()).collect().item():
            return None
        header = check_header(list(types), limits.column_name_chars)
        reserved.check_internal(header)
        if isinstance(schema_for, DatasetSchema):
            schema = schema_for
        else:
            schema = schema_for(header, lambda: next(open_parquet(path, limits).batches()))
        reserved.check_time(header, schema)
    except (ReadError, OSError, pl.exceptions.PolarsError):
        return None
    return types, schema


def typed_plan(
    types: dict[str, pl.DataType], schema: DatasetSchema
) -> tuple[list[pl.Expr], list[pl.Expr]] | None:
    """The schema's columns converted (and the values as read, where converted) and the checks,
    for columns of `types` (by name, as the header has them; the batch path's raw values);
    None when the columns are not exactly the schema's or a check cannot be evaluated."""
    if not all(isinstance(dtype, _ACCEPTED) for dtype in types.values()):
        return None
    match = match_columns(list(types), schema)
    if match.missing or match.extra:
        return None
    found = fast.declared_checks(schema)
    if found is None:
        return None
    declared, strict = found
    source_of = {target: source for source, target in match.mapping.items()}
    columns: list[pl.Expr] = []
    checks: list[pl.Expr] = []
    for spec in schema.columns:
        if spec.name in match.absent:  # a later version's column the file leaves out
            columns.append(pl.lit(None, pl.String).alias(spec.name))
            continue
        dtype = types[source_of[spec.name]]
        kept = spec.type in _AS_IS and dtype == POLARS_TYPES[spec.type]
        columns += _column(spec, source_of[spec.name], dtype, kept)
        if not kept:
            checks.append(fast.converted(spec))
        if dtype == pl.String:
            # The batch path counts an empty text as no value, and trims text it converts.
            text = pl.col(spec.name if kept else fast.TEXT + spec.name).str
            checks.append((text.len_bytes() > 0).fill_null(True))
            if not kept and spec.type not in CONVERT_REFUSES_SPACES:
                checks.append(text.contains(r"^\s|\s$").not_().fill_null(True))
        checks += fast.value_checks(spec, strict)
    return columns, [*checks, *declared]


def _column(spec: ColumnSpec, source: str, dtype: pl.DataType, kept: bool) -> list[pl.Expr]:
    """`spec`'s values: as read when `kept`, else converted, with the values as read beside."""
    raw = pl.col(source)
    if kept:
        # Kept as it is: the checks refuse what the batch path would change (text with spaces
        # around it, empty text, NaN and infinity).
        return [raw.alias(spec.name)]
    converted = convert_fast(raw, dtype, spec.type, spec.formats)
    return [converted.alias(spec.name), raw.alias(fast.TEXT + spec.name)]

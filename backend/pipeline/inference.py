"""Inferring the schema of a new datasource from the first rows of its first upload."""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl

from backend.contracts.schema import ColumnSpec, DatasetSchema, TimeSpec
from backend.contracts.types import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    TIME_FORMATS,
    ColumnType,
    convert_trimmed,
    present,
)
from backend.pipeline.sources.base import PROBLEM, ROW

_TIME_NAME = re.compile(
    r"(^|_|\b)(timestamp|datetime|time|date|ts|created|updated|day|epoch)", re.IGNORECASE
)
# Integers in these ranges, in a column named like a time, are epoch seconds / milliseconds.
_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01
_EPOCH_MS = (_EPOCH_S[0] * 1000, _EPOCH_S[1] * 1000)


PROBE_ROWS = 1000  # most candidate types fail within the first values: try those first


# The types a text column may have, tried in this order: the first every value present converts
# to is its type (text when none).
CANDIDATES: tuple[tuple[ColumnType, tuple[str, ...]], ...] = (
    *((target, ()) for target in (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.BOOLEAN)),
    *((ColumnType.DATE, (fmt,)) for fmt in DATE_FORMATS),
    *((ColumnType.DATETIME, (fmt,)) for fmt in DATETIME_FORMATS),
    *((ColumnType.TIME, (fmt,)) for fmt in TIME_FORMATS),
    (ColumnType.DATETIME, ()),  # mixed ISO forms
)


def infer_column(name: str, values: pl.Series) -> ColumnSpec:
    return infer_columns(values.alias(name).to_frame(), [name])[0]


def infer_columns(rows: pl.DataFrame, names: list[str]) -> list[ColumnSpec]:
    """The type of each of `names` (columns of `rows`): for text, the first of CANDIDATES every
    value present converts to (one at least), text when none."""
    found = {
        n: ColumnSpec(n, _from_polars(rows[n].dtype)) for n in names if rows[n].dtype != pl.String
    }
    text = [n for n in names if n not in found]
    typed = _text_types(rows, text) if text else {}
    zeros = _leading_zero_ids(rows, list(typed))  # identifiers such as 00123 stay text
    for name in text:
        kind = typed.get(name) if name not in zeros else None
        found[name] = ColumnSpec(name, *kind) if kind else ColumnSpec(name, ColumnType.STRING)
    return [found[n] for n in names]


def _text_types(
    rows: pl.DataFrame, text: list[str]
) -> dict[str, tuple[ColumnType, tuple[str, ...]]]:
    # The first rows of every text column stacked into one: a candidate is one Polars expression
    # over all of them (one per column took 10 s on a preview of 1,000 text columns). Most
    # candidates fail within those rows; a longer sample is tried whole on the columns left.
    head = (
        rows.head(PROBE_ROWS)
        .select(text)
        .unpivot(variable_name="column", value_name="v")
        .with_columns(t=pl.col("v").str.strip_chars())
    )
    chosen: dict[str, tuple[ColumnType, tuple[str, ...]]] = {}
    undecided = list(text)
    for target, formats in CANDIDATES:
        if not undecided:
            break
        converts, refused = _stacked(
            head.filter(pl.col("column").is_in(undecided)), target, formats
        )
        if rows.height > PROBE_ROWS:
            trying = [n for n in undecided if n not in refused]
            converts = _whole(rows, trying, target, formats) if trying else set()
        chosen |= dict.fromkeys(converts, (target, formats))
        undecided = [n for n in undecided if n not in chosen]
    return chosen


def _checks(
    values: pl.Expr, text: pl.Expr, target: ColumnType, formats: tuple[str, ...]
) -> tuple[pl.Expr, pl.Expr]:
    """Whether a value is present, and whether a present value does not convert."""
    has = present(values, pl.String())
    return has.any(), (has & convert_trimmed(text, target, formats).is_null()).any()


def _stacked(
    long: pl.DataFrame, target: ColumnType, formats: tuple[str, ...]
) -> tuple[set[str], set[str]]:
    """Of the columns stacked in `long`: those whose every value present converts (one at
    least), and those with a value present that does not."""
    has, refused = _checks(pl.col("v"), pl.col("t"), target, formats)
    found = long.group_by("column").agg(has.alias("has"), refused.alias("refused"))
    return (
        set(found.filter(pl.col("has") & ~pl.col("refused"))["column"]),
        set(found.filter(pl.col("refused"))["column"]),
    )


def _whole(
    rows: pl.DataFrame, names: list[str], target: ColumnType, formats: tuple[str, ...]
) -> set[str]:
    """Of `names`: those whose every value present in `rows` converts (one at least)."""
    checks = []
    for i, name in enumerate(names):
        has, refused = _checks(pl.col(name), pl.col(name).str.strip_chars(), target, formats)
        checks += [has.alias(f"h{i}"), refused.alias(f"r{i}")]
    row = rows.select(checks).row(0, named=True)
    return {n for i, n in enumerate(names) if row[f"h{i}"] and not row[f"r{i}"]}


def _leading_zero_ids(rows: pl.DataFrame, names: list[str]) -> set[str]:
    if not names:
        return set()
    checks = [
        pl.col(n).str.strip_chars().str.contains(r"^0\d+$").any().alias(f"z{i}")
        for i, n in enumerate(names)
    ]
    row = rows.select(checks).row(0, named=True)
    return {n for i, n in enumerate(names) if row[f"z{i}"]}


def _from_polars(dtype: pl.DataType) -> ColumnType:
    if dtype.is_integer():
        return ColumnType.INTEGER
    if dtype.is_float() or dtype.is_decimal():
        return ColumnType.FLOAT
    if dtype == pl.Boolean:
        return ColumnType.BOOLEAN
    if dtype == pl.Date:
        return ColumnType.DATE
    if dtype == pl.Time:
        return ColumnType.TIME
    if isinstance(dtype, pl.Datetime):
        return ColumnType.DATETIME
    return ColumnType.STRING


def _epoch_unit(values: pl.Series) -> str | None:
    numbers = values.cast(pl.Int64, strict=False).drop_nulls()
    if numbers.is_empty():
        return None
    low, high = numbers.min(), numbers.max()
    assert isinstance(low, int) and isinstance(high, int)
    if _EPOCH_S[0] <= low and high <= _EPOCH_S[1]:
        return "epoch_s"
    if _EPOCH_MS[0] <= low and high <= _EPOCH_MS[1]:
        return "epoch_ms"
    return None


def _time_column(
    columns: list[ColumnSpec], sample: pl.DataFrame, named: str | None
) -> tuple[list[ColumnSpec], TimeSpec]:
    temporal = {ColumnType.DATETIME, ColumnType.DATE}
    if named is not None:
        spec = next(c for c in columns if c.name == named)
        if spec.type in temporal:
            return columns, TimeSpec(named)
        unit = _epoch_unit(sample[named]) if spec.type is ColumnType.INTEGER else None
        if unit is None:
            raise ValueError(
                f"column {named!r} does not hold timestamps (ISO dates or times, common date "
                "formats, or epoch seconds or milliseconds)"
            )
        return _as_epoch(columns, named, unit), TimeSpec(named)
    by_name = [c for c in columns if _TIME_NAME.search(c.name)]
    for spec in [*by_name, *(c for c in columns if not _TIME_NAME.search(c.name))]:
        if spec.type in temporal:
            return columns, TimeSpec(spec.name)
    for spec in by_name:
        if spec.type is ColumnType.INTEGER and (unit := _epoch_unit(sample[spec.name])):
            return _as_epoch(columns, spec.name, unit), TimeSpec(spec.name)
    return columns, TimeSpec(None)


def _as_epoch(columns: list[ColumnSpec], name: str, unit: str) -> list[ColumnSpec]:
    return [
        ColumnSpec(c.name, ColumnType.DATETIME, (unit,)) if c.name == name else c for c in columns
    ]


def infer_schema(
    sample: pl.DataFrame,
    header: list[str],
    time_column: str | None,
    adjust: Callable[[list[ColumnSpec]], list[ColumnSpec]] | None = None,
) -> DatasetSchema:
    """Raises ValueError (with a message for the user) when the named time column is unusable.
    `adjust`: changes to the inferred columns (a preview's overrides), before the time column is
    chosen."""
    rows = sample.filter(pl.col(PROBLEM).is_null()).drop(ROW, PROBLEM)
    columns = infer_columns(rows, header)
    if adjust is not None:
        columns = adjust(columns)
    columns, time = _time_column(columns, rows, time_column)
    return DatasetSchema(columns=columns, time=time, inferred=True)

"""Column types of a dataset and the conversion of raw values (text, or typed Excel/Parquet cells)."""

from __future__ import annotations

import enum
import re

import polars as pl

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M")
_TIME_ONLY = re.compile(r"(?:%[HMSIp]|%\.f|[^%])+")  # a format with time-of-day fields only
DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


class ColumnType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"


POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    ColumnType.STRING: pl.String(),
    ColumnType.INTEGER: pl.Int64(),
    ColumnType.FLOAT: pl.Float64(),
    ColumnType.BOOLEAN: pl.Boolean(),
    ColumnType.DATE: pl.Date(),
    ColumnType.TIME: pl.Time(),
    ColumnType.DATETIME: pl.Datetime("us", "UTC"),
}


def present(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where the cell holds something (cheap: whitespace-only text counts as present here;
    `blank` tells those apart where it matters)."""
    if dtype == pl.String:
        return raw.str.len_bytes().fill_null(0) > 0
    return raw.is_not_null()


def blank(raw: pl.Expr) -> pl.Expr:
    """True where a text cell is empty or only whitespace."""
    return raw.str.strip_chars().str.len_bytes().fill_null(0) == 0


def convert_fast(
    raw: pl.Expr, dtype: pl.DataType, target: ColumnType, formats: tuple[str, ...] = ()
) -> pl.Expr:
    """The common case cheaply: text as it is (no trimming) and only the first format. A value it
    misses may still convert with `convert`, which the caller runs on columns with misses."""
    if dtype != pl.String or target in (ColumnType.STRING, ColumnType.BOOLEAN):
        return convert(raw, dtype, target, formats)
    if target is ColumnType.DATETIME and formats[:1] in (("epoch_s",), ("epoch_ms",)):
        return convert(raw, dtype, target, formats)
    if target in (ColumnType.DATE, ColumnType.TIME, ColumnType.DATETIME):
        first = (
            formats[:1]
            or {ColumnType.DATE: DATE_FORMATS, ColumnType.TIME: TIME_FORMATS}.get(target, ())[:1]
        )
        if target is ColumnType.DATETIME and not formats:
            return convert(raw, dtype, target, formats)
        if target is ColumnType.TIME and _TIME_ONLY.fullmatch(first[0]):
            # Polars parses datetimes with a fixed format about twice as fast as times; it is
            # stricter (no one-digit hours), never looser: a miss goes to `convert`.
            return raw.str.to_datetime(first[0], strict=False, time_unit="us").dt.time()
        return _from_text(raw, target, first)
    return _from_text(raw, target, formats)


def convert(
    raw: pl.Expr, dtype: pl.DataType, target: ColumnType, formats: tuple[str, ...] = ()
) -> pl.Expr:
    """`raw` as `target`; null where the value is missing or does not convert."""
    if target is ColumnType.DATETIME and formats[:1] in (("epoch_s",), ("epoch_ms",)):
        text = raw if dtype.is_numeric() else raw.cast(pl.String).str.strip_chars()
        epoch = pl.from_epoch(
            text.cast(pl.Int64, strict=False), time_unit="s" if formats[0] == "epoch_s" else "ms"
        )
        return epoch.dt.replace_time_zone("UTC").cast(pl.Datetime("us", "UTC"))
    if dtype == pl.String:
        return _from_text(raw.str.strip_chars(), target, formats)
    if target is ColumnType.STRING:
        return raw.cast(pl.String)
    if target is ColumnType.INTEGER and dtype.is_float():
        return pl.when(raw == raw.floor()).then(raw.cast(pl.Int64, strict=False))
    if target is ColumnType.DATETIME and dtype == pl.Date:
        return raw.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if target is ColumnType.DATETIME and isinstance(dtype, pl.Datetime):
        zoned = raw.dt.replace_time_zone("UTC") if dtype.time_zone is None else raw
        return zoned.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC"))
    if target is ColumnType.DATE and isinstance(dtype, pl.Datetime):
        return raw.dt.date()
    if dtype.is_numeric() or dtype in (pl.Boolean, pl.Date, pl.Time):
        converted = raw.cast(POLARS_TYPES[target], strict=False)
        return _finite(converted) if target is ColumnType.FLOAT else converted
    return _from_text(raw.cast(pl.String).str.strip_chars(), target, formats)


def convert_trimmed(text: pl.Expr, target: ColumnType, formats: tuple[str, ...] = ()) -> pl.Expr:
    """What `convert` makes of text, given the text already stripped (`convert` strips it), for
    a caller that tries one text against many types."""
    return _from_text(text, target, formats)


def _finite(values: pl.Expr) -> pl.Expr:
    return pl.when(values.is_finite()).then(values)


def _from_text(text: pl.Expr, target: ColumnType, formats: tuple[str, ...]) -> pl.Expr:
    if target is ColumnType.STRING:
        return pl.when(text.str.len_bytes() > 0).then(text)
    if target is ColumnType.INTEGER:
        return text.cast(pl.Int64, strict=False)  # "7" and "+7"; not "7.0" or "1,000"
    if target is ColumnType.FLOAT:
        return _finite(text.cast(pl.Float64, strict=False))  # not "1,234.5", "NaN" or "inf"
    if target is ColumnType.BOOLEAN:
        lower = text.str.to_lowercase()
        return pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
    if target is ColumnType.DATE:
        return pl.coalesce([text.str.to_date(f, strict=False) for f in formats or DATE_FORMATS])
    if target is ColumnType.TIME:
        return pl.coalesce([text.str.to_time(f, strict=False) for f in formats or TIME_FORMATS])
    return _datetime_from_text(text, formats)


def _datetime_from_text(text: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    text = text.str.replace(r"[Zz]$", "+00:00")
    parsed = []
    for fmt in formats or DATETIME_FORMATS:
        value = text.str.to_datetime(fmt, strict=False, time_unit="us")
        if "%z" in fmt:
            parsed.append(value.dt.convert_time_zone("UTC"))
        else:
            parsed.append(value.dt.replace_time_zone("UTC"))
    dates = [text.str.to_date(f, strict=False) for f in DATE_FORMATS[:2]]
    parsed += [d.cast(pl.Datetime("us")).dt.replace_time_zone("UTC") for d in dates]
    return pl.coalesce(parsed)

"""An analytics query as a client writes it (values as text), checked and typed by the
datasource's columns (the allow-list) into the query model. Both GraphQL's `analytics` input and a
workbook's widget queries are checked here."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Protocol

from backend.analytics.errors import BadRange, UnknownColumn
from backend.analytics.query import (
    Aggregate,
    Filter,
    FilterKind,
    Granularity,
    Measure,
    Order,
    Query,
    Scalar,
    check_order,
)
from backend.contracts.schema import PERIOD


class MeasureInput(Protocol):
    @property
    def aggregate(self) -> Aggregate: ...
    @property
    def column(self) -> str | None: ...
    @property
    def alias(self) -> str | None: ...


class FilterInput(Protocol):
    @property
    def kind(self) -> FilterKind: ...
    @property
    def column(self) -> str: ...
    @property
    def values(self) -> Sequence[str | None]: ...


class OrderInput(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def descending(self) -> bool: ...


class QueryInput(Protocol):
    """What GraphQL's AnalyticsQueryInput and a widget's query both are."""

    @property
    def datasource(self) -> str: ...
    @property
    def measures(self) -> Sequence[MeasureInput]: ...
    @property
    def dimensions(self) -> Sequence[str] | None: ...
    @property
    def granularity(self) -> Granularity | None: ...
    @property
    def filters(self) -> Sequence[FilterInput] | None: ...
    @property
    def order(self) -> Sequence[OrderInput] | None: ...
    @property
    def limit(self) -> int | None: ...
    @property
    def offset(self) -> int: ...


_NUMERIC = ("Int", "UInt", "Float", "Decimal")
_TEMPORAL = ("Datetime", "Date")
_NEEDS_NUMBERS = (Aggregate.SUM, Aggregate.AVG)


_TRUE, _FALSE = ("true", "1"), ("false", "0")
_BOUNDED = (FilterKind.RANGE, FilterKind.DATE_RANGE)
# A date-only upper bound on a timestamp takes in that whole day: up to the next midnight,
# which DATE_RANGE excludes and RANGE (inclusive) must not reach.
_THROUGH_THE_DAY = {
    FilterKind.DATE_RANGE: dt.timedelta(days=1),
    FilterKind.RANGE: dt.timedelta(days=1, microseconds=-1),
}


def _typed(
    value: str | None, dtype: str, column: str, kind: FilterKind, end: bool = False
) -> Scalar:
    """`value` as the column's type; `end`: the upper bound of a RANGE or DATE_RANGE, where a
    date without a time (in any form the parser takes) means the end of that day."""
    if value is None:
        return None
    text = value.strip()
    try:
        if kind is FilterKind.DATE_RANGE or dtype.startswith("Datetime"):
            moment = dt.datetime.fromisoformat(text)
            if end and kind in _BOUNDED and _date_only(text):  # through that day
                moment += _THROUGH_THE_DAY[kind]
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        if dtype == "Date":
            return dt.date.fromisoformat(text)
        if dtype == "Time":
            return dt.time.fromisoformat(text)
        if dtype.startswith(("Int", "UInt")):
            return int(_digits(text))
        if dtype.startswith("Float"):
            number = float(_digits(text))
            if math.isnan(number):
                raise ValueError(text)
            return number
        if dtype == "Boolean":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
    except (ValueError, OverflowError) as exc:  # OverflowError: the end of 9999-12-31
        raise BadRange(
            f"{value[:40]!r} is not a valid value for {column} ({dtype})",
            "Give a value of the column's type"
            + (": true or false (or 1 or 0)." if dtype == "Boolean" else "."),
        ) from exc
    return value


def _date_only(text: str) -> bool:
    """A date without a time of day, in any form the parser takes (2019-02-28, 20190228,
    2019-W09-4...)."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _digits(text: str) -> str:
    """Python's int() and float() take 1_000; a filter value does not (nor does ingestion)."""
    if "_" in text:
        raise ValueError(text)
    return text


def build_query(data: QueryInput, columns: dict[str, str]) -> Query:
    _check_size(data)
    filters = [_filter(item, data.datasource, columns) for item in data.filters or []]
    measures = _measures(data, columns)
    dimensions = tuple(_known(d, data.datasource, columns) for d in data.dimensions or [])
    _require_distinct_names(data.granularity, dimensions, measures)
    query = Query(
        datasource=data.datasource,
        measures=tuple(measures),
        dimensions=dimensions,
        granularity=data.granularity,
        filters=tuple(filters),
        order=tuple(Order(o.name, o.descending) for o in data.order or []),
        limit=data.limit,
        offset=data.offset,
    )
    check_order(query, columns)
    return query


def _known(name: str, datasource: str, columns: dict[str, str]) -> str:
    """`name`, when the datasource has that column."""
    if name not in columns:
        raise UnknownColumn(name, datasource, list(columns))
    return name


def _check_size(data: QueryInput) -> None:
    """The page asked for, and the number of filters, measures and dimensions, are bounded."""
    if not (0 <= data.offset and (data.limit is None or 1 <= data.limit <= 100_000)):
        raise BadRange("limit must be 1..100000 and offset >= 0", "Page through large results.")
    if len(data.filters or []) > 50 or len(data.measures) > 50 or len(data.dimensions or []) > 20:
        raise BadRange(
            "a query takes at most 50 filters, 50 measures and 20 dimensions",
            "Split it into smaller queries.",
        )


def _filter(item: FilterInput, datasource: str, columns: dict[str, str]) -> Filter:
    """One filter, its values typed by its column (and their number checked for its kind)."""
    if len(item.values) > 1000:
        raise BadRange(
            f"a filter takes at most 1000 values (got {len(item.values)} on {item.column})",
            "Filter on fewer values.",
        )
    dtype = columns[_known(item.column, datasource, columns)]
    expected = {FilterKind.EQUALS: 1, FilterKind.RANGE: 2, FilterKind.DATE_RANGE: 2}.get(item.kind)
    if expected is not None and len(item.values) != expected:
        raise BadRange(
            f"{item.kind.value} on {item.column} takes {expected} value(s)", "See FilterInput."
        )
    if item.kind is FilterKind.DATE_RANGE and not dtype.startswith(_TEMPORAL):
        raise BadRange(
            f"date_range needs a date or timestamp column; {item.column} is {dtype}",
            "Use range for numbers, equals or in for text.",
        )
    values = tuple(
        _typed(v, dtype, item.column, item.kind, end=index == 1)
        for index, v in enumerate(item.values)
    )
    if item.kind in _BOUNDED:
        _require_ordered(item, dtype)
    return Filter(item.kind, item.column, values)


def _measures(data: QueryInput, columns: dict[str, str]) -> list[Measure]:
    """The measures, on known columns: only count goes without one, sum and avg need numbers."""
    measures = [
        Measure(
            m.aggregate,
            _known(m.column, data.datasource, columns) if m.column else None,
            m.alias or "",
        )
        for m in data.measures
    ]
    if any(m.column is None and m.aggregate is not Aggregate.COUNT for m in measures):
        raise BadRange("only count can be used without a column", "Name the column to aggregate.")
    for m in measures:
        if m.aggregate in _NEEDS_NUMBERS and not columns[m.column or ""].startswith(_NUMERIC):
            raise BadRange(
                f"{m.aggregate.value} needs a numeric column; {m.column} is "
                f"{columns[m.column or '']}",
                "Use count, count_distinct, min or max on it.",
            )
    return measures


def _require_ordered(item: FilterInput, dtype: str) -> None:
    """The bounds of a range as given: a date-only `to` the day before `from` is reversed too,
    though it reaches `from` once taken through its day."""
    low, high = (_typed(v, dtype, item.column, item.kind) for v in item.values)
    if low is not None and high is not None and low > high:  # type: ignore[operator]
        raise BadRange(
            f"the range on {item.column} starts after it ends ({item.values[0]!s:.40} > "
            f"{item.values[1]!s:.40})",
            "Swap the bounds.",
        )


def _require_distinct_names(
    granularity: Granularity | None, dimensions: tuple[str, ...], measures: list[Measure]
) -> None:
    """Each column of the answer has a name of its own."""
    names = ([PERIOD] if granularity else []) + list(dimensions) + [m.name for m in measures]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadRange(
            f"the answer would have more than one column named {', '.join(map(repr, repeated))}",
            "List each dimension once and give measures aliases of their own.",
        )

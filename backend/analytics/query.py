"""The analytics query model: what any engine (embedded Polars, Druid) is asked to compute."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from backend.analytics.errors import BadRange, UnknownColumn
from backend.contracts.schema import PERIOD
from backend.errors import InvalidInput

TIME = "__time"


class Aggregate(enum.StrEnum):
    SUM = "sum"
    AVG = "avg"
    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    MIN = "min"
    MAX = "max"


class Granularity(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class FilterKind(enum.StrEnum):
    EQUALS = "equals"
    IN = "in"
    RANGE = "range"  # numeric: low <= value <= high (either bound may be open)
    DATE_RANGE = "date_range"  # on a timestamp: start <= value < end (either bound may be open)


Scalar = str | int | float | bool | dt.datetime | dt.date | dt.time | None


@dataclass(frozen=True)
class Measure:
    aggregate: Aggregate
    column: str | None = None  # None only for COUNT (rows)
    alias: str = ""

    @property
    def name(self) -> str:
        return self.alias or (
            f"{self.aggregate.value}_{self.column}" if self.column else self.aggregate.value
        )


@dataclass(frozen=True)
class Filter:
    kind: FilterKind
    column: str
    values: tuple[Scalar, ...] = ()  # EQUALS: (v,); IN: (v, ...); RANGE/DATE_RANGE: (low, high)


@dataclass(frozen=True)
class Order:
    name: str  # a dimension or a measure's name, or "__period"
    descending: bool = False


@dataclass(frozen=True)
class Query:
    datasource: str
    measures: tuple[Measure, ...]
    dimensions: tuple[str, ...] = ()
    granularity: Granularity | None = None  # adds a "__period" dimension truncating __time
    filters: tuple[Filter, ...] = ()
    order: tuple[Order, ...] = ()
    limit: int | None = None
    offset: int = 0
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def key(self) -> str:
        """A canonical text form: equal queries have equal keys (the cache key). Built by hand:
        it is computed on every request, and dataclasses.asdict + json took ~1 ms."""
        parts = (
            self.datasource,
            tuple((m.aggregate.value, m.column, m.alias) for m in self.measures),
            self.dimensions,
            self.granularity.value if self.granularity else None,
            tuple((f.kind.value, f.column, f.values) for f in self.filters),
            tuple((o.name, o.descending) for o in self.order),
            self.limit,
            self.offset,
        )
        return repr(parts)

    def columns(self) -> set[str]:
        used = {m.column for m in self.measures if m.column} | set(self.dimensions)
        return used | {f.column for f in self.filters}


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def answer_names(query: Query) -> list[str]:
    """The columns of an aggregating query's answer, in order."""
    return (
        ([PERIOD] if query.granularity else [])
        + list(query.dimensions)
        + [m.name for m in query.measures]
    )


class UnknownOrder(UnknownColumn):
    """An order on a name the answer of an aggregating query does not have."""

    def __init__(self, name: str, known: list[str], columns: Collection[str]) -> None:
        hint = (
            f" {name[:80]!r} is a column of the data: add it to the dimensions to order by it."
            if name in columns
            else ""
        )
        InvalidInput.__init__(
            self,
            f"the answer has no column {name[:80]!r} to order by",
            f"Order by one of: {', '.join(known[:60])}.{hint}",
        )


def check_order(query: Query, columns: Collection[str]) -> None:
    """Every name `query` orders by is one it can order by: a column of the datasource
    (`columns`) for raw rows (no measures), else a column of the answer (`__period` only with a
    granularity)."""
    names = answer_names(query) if query.measures else list(columns)
    for order in query.order:
        if order.name in names:
            continue
        if order.name == PERIOD and not query.measures:
            raise BadRange(
                "raw rows have no __period to order by",
                "Order the rows by __time, or add a measure and a granularity to group them "
                "by period.",
            )
        if order.name == PERIOD:
            raise BadRange(
                "ordering by __period needs a granularity",
                "Give a granularity (HOUR ... YEAR), or order by a dimension or a measure.",
            )
        if not query.measures:
            raise UnknownColumn(order.name, query.datasource, names)
        raise UnknownOrder(order.name, names, columns)


def empty_result(query: Query) -> Result:
    """What a query answers over no data: no groups, or one row of zero counts and sums."""
    names = answer_names(query)
    if query.dimensions or query.granularity or not query.measures:
        return Result(names, [])
    values = [
        0 if m.aggregate in (Aggregate.SUM, Aggregate.COUNT, Aggregate.COUNT_DISTINCT) else None
        for m in query.measures
    ]
    return Result(names, [tuple(values)])

"""GraphQL: the ad-hoc `analytics` query, mapped onto the query model with values typed by the
datasource's columns (the allow-list)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from backend.analytics.query import Aggregate, FilterKind, Granularity
from backend.analytics.query_input import build_query
from backend.analytics.service import Analytics, CacheTrace


@strawberry.input
class MeasureInput:
    aggregate: Aggregate
    column: str | None = None
    alias: str | None = None


@strawberry.input(
    description="values: EQUALS one value, IN several, RANGE [low, high], DATE_RANGE [from, to) on "
    "a date or timestamp column, where a date-only `to` includes that whole day (null: open; "
    "among EQUALS or IN values: missing). Values are written as text of the column's type; a "
    "Boolean column takes true or false (or 1 or 0), in any case"
)
class FilterInput:
    kind: FilterKind
    column: str
    values: list[str | None]


@strawberry.input
class OrderInput:
    name: str
    descending: bool = False


@strawberry.input
class AnalyticsQueryInput:
    datasource: str
    measures: list[MeasureInput]
    dimensions: list[str] | None = None
    granularity: Granularity | None = None
    filters: list[FilterInput] | None = None
    order: list[OrderInput] | None = None
    limit: int | None = 1000
    offset: int = 0


@strawberry.type
class AnalyticsResult:
    columns: list[str]
    rows: JSON = strawberry.field(description="one array of values per row, in column order")


async def run_analytics(
    analytics: Analytics, data: AnalyticsQueryInput, trace: CacheTrace
) -> AnalyticsResult:
    columns = await analytics.columns(data.datasource)
    query = build_query(data, columns)
    result = await analytics.run(query, trace)
    rows: list[list[Any]] = [
        [v.isoformat() if isinstance(v, dt.date | dt.datetime | dt.time) else v for v in row]
        for row in result.rows
    ]
    return AnalyticsResult(columns=result.columns, rows=cast(JSON, rows))

"""The embedded engine: Polars lazy scans over a datasource's Parquet files (filters pushed down)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from backend.analytics.catalog import DatasetFiles, DatasourceVersion, parse_interval
from backend.analytics.errors import BadRange, UnknownColumn
from backend.analytics.query import (
    PERIOD,
    TIME,
    Aggregate,
    Filter,
    FilterKind,
    Granularity,
    Measure,
    Query,
    Result,
    empty_result,
)
from backend.priority import heavy_executor

T = TypeVar("T")

EVERY = {
    Granularity.HOUR: "1h",
    Granularity.DAY: "1d",
    Granularity.WEEK: "1w",
    Granularity.MONTH: "1mo",
    Granularity.QUARTER: "1q",
    Granularity.YEAR: "1y",
}


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, files: DatasetFiles, threads: int = 4) -> None:
        self.files = files
        # Threads of its own: a burst of queries never takes the threads that uploads and
        # storage use (the loop's default executor).
        self._executor = heavy_executor("embedded", threads)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _scan(self, source: DatasourceVersion) -> pl.LazyFrame | None:
        paths = await self.files.paths(source)
        return scan(paths, source.hidden) if paths else None

    async def schema(self, source: DatasourceVersion) -> dict[str, str]:
        frame = await self._scan(source)
        return {} if frame is None else await self._call(_schema, frame)

    async def run(self, query: Query, source: DatasourceVersion) -> Result:
        frame = await self._scan(source)
        if frame is None:
            return empty_result(query)
        return await self._call(_run, query, frame)

    async def time_range(
        self, source: DatasourceVersion
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        frame = await self._scan(source)
        return (None, None) if frame is None else await self._call(_time_range, frame)


def scan(paths: list[Path], hidden: tuple[tuple[str, ...], ...] = ()) -> pl.LazyFrame:
    """The datasource's rows: every dataset, less the intervals later uploads replaced."""
    if not hidden:
        return pl.scan_parquet(paths)
    frames = []
    for path, intervals in zip(paths, hidden, strict=True):
        frame = pl.scan_parquet(path)
        for interval in intervals:
            start, end = parse_interval(interval)
            frame = frame.filter((pl.col(TIME) < start) | (pl.col(TIME) >= end))
        frames.append(frame)
    return pl.concat(frames, how="vertical")


def _schema(frame: pl.LazyFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.collect_schema().items()}


def _time_range(frame: pl.LazyFrame) -> tuple[dt.datetime | None, dt.datetime | None]:
    bounds = frame.select(pl.col(TIME).min().alias("low"), pl.col(TIME).max().alias("high"))
    low, high = bounds.collect().row(0)
    return low, high


def check_columns(query: Query, schema: dict[str, str]) -> None:
    for column in sorted(query.columns()):
        if column not in schema:
            raise UnknownColumn(column, query.datasource, list(schema))


def _run(query: Query, frame: pl.LazyFrame) -> Result:
    names = frame.collect_schema().names()
    check_columns(query, dict.fromkeys(names, ""))
    for item in query.filters:
        frame = frame.filter(_predicate(item))
    if not query.measures:
        return _rows(frame, query, names)
    keys: list[pl.Expr] = [pl.col(d) for d in query.dimensions]
    if query.granularity is not None:
        keys.insert(0, pl.col(TIME).dt.truncate(EVERY[query.granularity]).alias(PERIOD))
    aggregates = [_aggregate(m) for m in query.measures]
    frame = frame.group_by(keys).agg(aggregates) if keys else frame.select(aggregates)
    if query.order:
        frame = frame.sort(
            [o.name for o in query.order],
            descending=[o.descending for o in query.order],
            nulls_last=True,
        )
    elif keys:
        frame = frame.sort([k.meta.output_name() for k in keys], nulls_last=True)
    if query.offset or query.limit is not None:
        frame = frame.slice(query.offset, query.limit)
    collected = frame.collect()
    return Result(collected.columns, collected.rows())


def _rows(frame: pl.LazyFrame, query: Query, names: list[str]) -> Result:
    """No measures: the rows themselves (a page of them), in time order unless told otherwise."""
    columns = list(query.dimensions) or names
    frame = frame.with_row_index("__position")
    order = [o.name for o in query.order] or ([TIME] if TIME in names else [])
    frame = frame.sort(
        [*order, "__position"],
        descending=[o.descending for o in query.order]
        + [False] * (len(order) - len(query.order) + 1),
    )
    collected = frame.slice(query.offset, query.limit).select(columns).collect()
    return Result(collected.columns, collected.rows())


def _aggregate(measure: Measure) -> pl.Expr:
    if measure.aggregate is Aggregate.COUNT:
        expr = pl.len() if measure.column is None else pl.col(measure.column).count()
        return expr.cast(pl.Int64).alias(measure.name)
    column = pl.col(measure.column or "")
    expr = {
        Aggregate.SUM: column.sum(),
        Aggregate.AVG: column.mean(),
        Aggregate.COUNT_DISTINCT: column.n_unique().cast(pl.Int64),
        Aggregate.MIN: column.min(),
        Aggregate.MAX: column.max(),
    }[measure.aggregate]
    return expr.alias(measure.name)


def _predicate(item: Filter) -> pl.Expr:
    column = pl.col(item.column)
    if item.kind is FilterKind.EQUALS:
        return column == item.values[0]
    if item.kind is FilterKind.IN:
        return column.is_in(list(item.values))
    low, high = (item.values + (None, None))[:2]
    if low is not None and high is not None and low > high:  # type: ignore[operator]
        raise BadRange(f"the range on {item.column} starts after it ends", "Swap the bounds.")
    if item.kind is FilterKind.RANGE:
        parts = [column >= low] if low is not None else []
        parts += [column <= high] if high is not None else []
    else:
        parts = [column >= _utc(low)] if low is not None else []
        parts += [column < _utc(high)] if high is not None else []
    return pl.all_horizontal(parts) if parts else pl.lit(True)


def _utc(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value

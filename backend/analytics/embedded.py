"""The embedded engine: Polars lazy scans over a datasource's Parquet files (filters pushed down)."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from backend import threads
from backend.analytics import from_rollup
from backend.analytics.catalog import DatasetFiles, DatasourceVersion, parse_interval
from backend.analytics.errors import BadRange, UnknownColumn
from backend.analytics.query import (
    TIME,
    Aggregate,
    Filter,
    FilterKind,
    Granularity,
    Measure,
    Query,
    Result,
    check_order,
    empty_result,
)
from backend.analytics.rollup import Rollup, rollup_key
from backend.analytics.rollup import build as build_rollup
from backend.analytics.rollup import load as load_rollup
from backend.contracts.schema import PERIOD
from backend.priority import heavy_executor, unpanicked

T = TypeVar("T")
log = logging.getLogger(__name__)
# Loaded rollups kept in memory, in bytes (a rollup is a few percent of its dataset's rows).
ROLLUP_MEMORY_BYTES = 512 * 1024 * 1024
ROLLUP_RETRY_SECONDS = 600.0

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

    def __init__(
        self, files: DatasetFiles, threads: int = 4, *, rollup_bytes: int = ROLLUP_MEMORY_BYTES
    ) -> None:
        self.files = files
        # Threads of its own: a burst of queries never takes the threads that uploads and
        # storage use (the loop's default executor).
        self._executor = heavy_executor("embedded", threads)
        self._rollups = RollupMemory(rollup_bytes)
        self._building: dict[str, asyncio.Task[None]] = {}
        self._failed: dict[str, float] = {}  # dataset key -> when its rollup last failed

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        # In the caller's context (its request id in log records), as asyncio.to_thread runs.
        call = functools.partial(contextvars.copy_context().run, unpanicked, function, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        for task in self._building.values():
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        """close(), then wait until the rollups being loaded or written have stopped (they use
        the database and storage, which are closed next)."""
        building = list(self._building.values())
        self.close()
        await asyncio.gather(*building, return_exceptions=True)

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
        rollups = await self.rollups(source) if query.measures else None
        return await self._call(_run, query, frame, rollups, source.hidden)

    async def time_range(
        self, source: DatasourceVersion
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        frame = await self._scan(source)
        if frame is None:
            return None, None
        if TIME in await self._call(_schema, frame):
            bounds = (Measure(Aggregate.MIN, TIME, "low"), Measure(Aggregate.MAX, TIME, "high"))
            low, high = (await self.run(Query(source.name, bounds), source)).rows[0]
            return low, high
        return await self._call(_time_range, frame)

    async def prepare(self, source: DatasourceVersion) -> None:
        """Find or write, and load, every dataset's rollup now rather than on first use."""
        for key in source.dataset_keys:
            task = self._loading(key, source.name) if self._rollups.get(key) is None else None
            if task is not None:
                await task

    async def rollups(self, source: DatasourceVersion) -> list[Rollup] | None:
        """Every dataset's rollup, or None while one is not loaded yet (its loading, or writing,
        then starts in the background: a query never waits for a rollup)."""
        found = []
        for key in source.dataset_keys:
            rollup = self._rollups.get(key)
            if rollup is None:
                self._loading(key, source.name)
                return None
            found.append(rollup)
        return found

    def _loading(self, key: str, datasource: str) -> asyncio.Task[None] | None:
        """The one task loading (or writing) a dataset's rollup in this process (none for a
        while after one failed)."""
        task = self._building.get(key)
        failed = self._failed.get(key)
        if task is None and failed is not None and time.monotonic() - failed < ROLLUP_RETRY_SECONDS:
            return None  # failed lately: the rows answer for a while
        if task is None:
            task = asyncio.create_task(self._load_or_build(key, datasource))
            self._building[key] = task
            task.add_done_callback(functools.partial(self._built, key))
        return task

    def _built(self, key: str, _: object) -> None:
        self._building.pop(key, None)

    async def _load_or_build(self, key: str, datasource: str) -> None:
        try:
            path = await self.files.stored_path(rollup_key(key))
            if path is None:
                dataset = await self.files.path(key)
                scratch = self.files.scratch()
                await threads.FILES.run(scratch.parent.mkdir, parents=True, exist_ok=True)
                try:
                    await self._call(build_rollup, dataset, scratch, datasource)
                    await self.files.save(rollup_key(key), scratch)
                finally:
                    await threads.FILES.run(scratch.unlink, True)
                path = await self.files.stored_path(rollup_key(key))
            if path is not None:
                self._rollups.put(key, await self._call(load_rollup, path))
                self._failed.pop(key, None)
        except Exception:  # the rows still answer every query; one a while later tries again
            self._failed[key] = time.monotonic()
            log.exception("rollup of %s could not be written or read", key)


class RollupMemory:
    """Loaded rollups, least recently used first out past a size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[Rollup, int]] = OrderedDict()

    def get(self, key: str) -> Rollup | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: str, rollup: Rollup) -> None:
        self._items[key] = (rollup, int(rollup.frame.estimated_size()))
        while len(self._items) > 1 and sum(s for _, s in self._items.values()) > self.max_bytes:
            self._items.popitem(last=False)


def scan(paths: list[Path], hidden: tuple[tuple[str, ...], ...] = ()) -> pl.LazyFrame:
    """The datasource's rows: every dataset, less the intervals later uploads replaced. Datasets
    written before the schema evolved read as the latest: a column added since is empty
    (null) in them, an integer column widened since reads as float."""
    union = _union_schema(paths)
    options: dict[str, Any] = {}
    if union is not None:
        options = {"schema": union, "missing_columns": "insert", "cast_options": _WIDENING}
    if not hidden:
        return pl.scan_parquet(paths, **options)
    frames = []
    for path, intervals in zip(paths, hidden, strict=True):
        frame = pl.scan_parquet(path, **options)
        for interval in intervals:
            start, end = parse_interval(interval)
            frame = frame.filter((pl.col(TIME) < start) | (pl.col(TIME) >= end))
        frames.append(frame)
    return pl.concat(frames, how="vertical")


_WIDENING = pl.ScanCastOptions(integer_cast="allow-float")


@functools.lru_cache(maxsize=8192)
def _file_schema(path: str) -> tuple[tuple[str, pl.DataType], ...]:
    """A dataset's columns (read from its footer once: datasets never change once written)."""
    return tuple(pl.read_parquet_schema(path).items())


def _union_schema(paths: list[Path]) -> dict[str, pl.DataType] | None:
    """Every column of the datasets, widest type first seen; None when they all agree."""
    schemas = [_file_schema(str(path)) for path in paths]
    if all(schema == schemas[0] for schema in schemas[1:]):
        return None
    union: dict[str, pl.DataType] = {}
    for schema in schemas:
        for name, dtype in schema:
            known = union.get(name)
            if known is None or (known.is_integer() and dtype.is_float()):
                union[name] = dtype
    return union


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


def _run(
    query: Query,
    frame: pl.LazyFrame,
    rollups: list[Rollup] | None = None,
    hidden: tuple[tuple[str, ...], ...] = (),
) -> Result:
    names = frame.collect_schema().names()
    check_columns(query, dict.fromkeys(names, ""))
    check_order(query, names)
    predicates = [_predicate(item) for item in query.filters]
    for predicate in predicates:
        frame = frame.filter(predicate)
    if not query.measures:
        return _rows(frame, query, names)
    keys: list[pl.Expr] = [pl.col(d) for d in query.dimensions]
    if query.granularity is not None:
        keys.insert(0, pl.col(TIME).dt.truncate(EVERY[query.granularity]).alias(PERIOD))
    aggregates = [_aggregate(m) for m in query.measures]
    frame = frame.group_by(keys).agg(aggregates) if keys else frame.select(aggregates)
    if rollups is not None and from_rollup.covers(query, [r.spec for r in rollups], hidden):
        try:
            target = frame.collect_schema()
            answered = from_rollup.answer(query, rollups, hidden, target, keys, predicates)
            return _finish(answered, query, keys)
        except pl.exceptions.PolarsError:  # never expected; the rows still know the answer
            log.exception("a rollup could not answer %s", query.key())
    return _finish(frame, query, keys)


def _finish(frame: pl.LazyFrame, query: Query, keys: list[pl.Expr]) -> Result:
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
    order = [o.name for o in query.order] or ([TIME] if TIME in names else [])
    if order:
        # A stable sort: ties keep the datasets' own order. Polars turns a stable sort followed
        # by a slice into a top-k, where a sort on (order, row index) sorted every row (1.5x).
        frame = frame.sort(
            order,
            descending=[o.descending for o in query.order] or [False] * len(order),
            maintain_order=True,
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
        Aggregate.COUNT_DISTINCT: column.drop_nulls().n_unique().cast(pl.Int64),  # as SQL
        Aggregate.MIN: column.min(),
        Aggregate.MAX: column.max(),
    }[measure.aggregate]
    return expr.alias(measure.name)


def _predicate(item: Filter) -> pl.Expr:
    column = pl.col(item.column)
    if item.kind in (FilterKind.EQUALS, FilterKind.IN):
        # A null among the values matches missing values, as in Druid (`IS NULL`).
        values = [v for v in item.values if v is not None]
        parts = []
        if values:
            parts.append(
                column == values[0] if item.kind is FilterKind.EQUALS else column.is_in(values)
            )
        parts += [column.is_null()] if len(values) < len(item.values) else []
        return pl.any_horizontal(parts) if parts else pl.lit(False)
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

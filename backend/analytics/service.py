"""Entry point for analytics: resolves datasources, runs queries on the active engine, caches."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.analytics.budget import Budget
from backend.analytics.cache import QueryCache
from backend.analytics.catalog import DatasourceVersion, load_versions
from backend.analytics.errors import UnknownDatasource
from backend.analytics.query import (
    TIME,
    Aggregate,
    FilterKind,
    Measure,
    Query,
    Result,
    empty_result,
)
from backend.contracts.sales import SALES
from backend.contracts.stored import DatasourceSchema
from backend.db import SessionMaker, session_scope
from backend.monitoring.metrics import Registry
from backend.tasks.models import STORED_STATUSES, TaskStatus

log = logging.getLogger(__name__)


@runtime_checkable
class Prepares(Protocol):
    """An engine that prepares a datasource's new data ahead of queries (writes its rollups)."""

    async def prepare(self, source: DatasourceVersion) -> None: ...


class Engine(Protocol):
    name: str

    async def run(self, query: Query, source: DatasourceVersion) -> Result: ...

    async def schema(self, source: DatasourceVersion) -> dict[str, str]: ...

    async def time_range(
        self, source: DatasourceVersion
    ) -> tuple[dt.datetime | None, dt.datetime | None]: ...


@dataclass
class CacheTrace:
    """One request's analytics: what the cache did (reported in the GraphQL response's
    extensions) and the budget its queries spend."""

    hits: int = 0
    misses: int = 0
    keys: list[str] = field(default_factory=list)
    budget: Budget | None = None
    warnings: list[str] = field(default_factory=list)  # shown in the response's extensions


@dataclass(frozen=True)
class Metadata:
    schema: dict[str, str]
    time_range: tuple[dt.datetime | None, dt.datetime | None]
    rows: int


@dataclass(frozen=True)
class DatasourceInfo:
    name: str
    rows: int
    columns: dict[str, str]
    time_start: dt.datetime | None
    time_end: dt.datetime | None
    last_ingestion: dt.datetime | None


# Which engine serves dashboards, read from the database (the Sigma mode): an engine's name.
ModeReader = Callable[[AsyncSession], Awaitable[str]]
# The tasks whose datasets each engine serves: the embedded engine reads a dataset as soon as it
# is stored; Druid only once the task succeeded (its rows are queryable there).
SERVED = {
    "embedded": tuple(STORED_STATUSES),
    "druid": (TaskStatus.SUCCEEDED,),
}


class Analytics:
    def __init__(
        self,
        sessions: SessionMaker,
        engine: Engine,
        cache: QueryCache,
        version_ttl: float = 1.0,
        *,
        druid: Engine | None = None,  # serves dashboards in the warehouse Sigma mode
        read_mode: ModeReader | None = None,
        metrics: Registry | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.embedded = engine
        self.druid = druid
        self.read_mode = read_mode
        self.engine = engine  # the one serving now (the Sigma mode), refreshed with the versions
        self.cache = cache
        self.version_ttl = version_ttl
        self._versions: dict[str, DatasourceVersion] = {}
        self._declared: set[str] = set()
        self._loaded_at = float("-inf")
        self._refreshing = asyncio.Lock()
        # Schema, time range and rows per datasource version: datasets never change once written.
        self._meta: dict[str, Metadata] = {}
        self._preparing: set[asyncio.Task[None]] = set()

    async def _refresh(self) -> None:
        # Datasets land from any worker process; a short-lived memo keeps this one query cheap,
        # and one refresh at a time serves every request that finds the memo stale.
        if time.monotonic() - self._loaded_at < self.version_ttl:
            return
        async with self._refreshing:
            if time.monotonic() - self._loaded_at < self.version_ttl:
                return
            await self._load()

    async def _load(self) -> None:
        async with session_scope(self.sessions) as session:
            engine = self.embedded
            if self.druid is not None and self.read_mode is not None:
                if await self.read_mode(session) == self.druid.name:
                    engine = self.druid
            self._versions = await load_versions(session, SERVED.get(engine.name, SERVED["druid"]))
            self.engine = engine
            declared = await session.scalars(
                DatasourceSchema.__table__.select().with_only_columns(DatasourceSchema.datasource)
            )
            self._declared = set(declared.all()) | {SALES}
        self._loaded_at = time.monotonic()

    def landed(self, datasource: str) -> None:
        """New data for `datasource` (same process): forget cached results and versions."""
        self.cache.invalidate(datasource)
        self._loaded_at = float("-inf")
        if isinstance(self.embedded, Prepares):
            try:
                task = asyncio.get_running_loop().create_task(self._prepare(datasource))
            except RuntimeError:  # no event loop here: the first query prepares it instead
                return
            self._preparing.add(task)
            task.add_done_callback(self._preparing.discard)

    async def stop_preparing(self) -> None:
        """Cancel the rollups being prepared and wait until they have stopped: before the
        database goes away, or one left mid-query would wait on a closed connection forever."""
        preparing = list(self._preparing)
        for task in preparing:
            task.cancel()
        await asyncio.gather(*preparing, return_exceptions=True)

    async def _prepare(self, datasource: str) -> None:
        """Write the rollups of a datasource's new data (the embedded engine answers from them)."""
        engine = self.embedded
        try:
            await self._refresh()
        except Exception:  # the first query that needs them writes them instead
            log.exception("rollups of %s not prepared", datasource)
            return
        source = self._versions.get(datasource)
        if source is not None and isinstance(engine, Prepares):
            await engine.prepare(source)

    def mode_changed(self) -> None:
        """The Sigma mode changed (same process): pick the engine again before the next query."""
        self._loaded_at = float("-inf")

    async def active_engine(self) -> Engine:
        await self._refresh()
        return self.engine

    async def source(self, name: str) -> DatasourceVersion:
        await self._refresh()
        if name in self._versions:
            return self._versions[name]
        if name in self._declared:
            return DatasourceVersion(name, (), 0, None)  # known, no data yet
        raise UnknownDatasource(name, sorted(self._declared | set(self._versions)))

    async def run(
        self, query: Query, trace: CacheTrace | None = None, field: str = "analytics"
    ) -> Result:
        """`field`: the GraphQL field asking (a label of the engine's latency metric)."""
        return (await self.run_many([query], trace, field))[0]

    async def run_many(
        self, queries: list[Query], trace: CacheTrace | None = None, field: str = "analytics"
    ) -> list[Result]:
        """Answers to independent queries, in their order: from the cache where it has them,
        the rest at once (on Druid, two queries at once beat one SQL of filtered aggregates:
        a `__time` filter in WHERE prunes segments, one in FILTER is checked row by row)."""
        sources = [await self.source(q.datasource) for q in queries]
        engine = self.engine
        keys = [
            f"{engine.name}:{s.version}:{q.key()}" for q, s in zip(queries, sources, strict=True)
        ]
        answers: list[Result | None] = []
        for key in keys:
            found, value = self.cache.get(key)
            if trace is not None:
                trace.hits += found
                trace.misses += not found
                trace.keys.append(key)
            if self.metrics is not None:
                self.metrics.cache_results[found].inc()
            answers.append(value if found and isinstance(value, Result) else None)
        missing = [i for i, answer in enumerate(answers) if answer is None]
        if missing:
            budget = trace.budget if trace is not None else None
            started = time.perf_counter()
            computed = await self._compute(
                engine, [queries[i] for i in missing], [sources[i] for i in missing], budget
            )
            if self.metrics is not None:
                self.metrics.queries.labels(engine.name, field).observe(
                    time.perf_counter() - started
                )
            for i, result in zip(missing, computed, strict=True):
                self.cache.put(keys[i], queries[i].datasource, result)
                answers[i] = result
        done = [a for a in answers if a is not None]
        if trace is not None and trace.budget is not None:
            for result in done:
                trace.budget.spend(len(result.rows) * max(1, len(result.columns)))
        return done

    async def _compute(
        self,
        engine: Engine,
        queries: list[Query],
        sources: list[DatasourceVersion],
        budget: Budget | None,
    ) -> list[Result]:
        async def one(query: Query, source: DatasourceVersion) -> Result:
            if _asks_time(query) and source.dataset_keys:
                if _no_rows_in(query, (await self._metadata(source)).time_range):
                    return empty_result(query)  # no engine query for a period without data
            if budget is not None:
                return await budget.run(lambda: engine.run(query, source))
            return await engine.run(query, source)

        pairs = zip(queries, sources, strict=True)
        return list(await asyncio.gather(*(one(q, s) for q, s in pairs)))

    async def _metadata(self, source: DatasourceVersion) -> Metadata:
        engine = self.engine
        key = f"{engine.name}:{source.name}:{source.version}"
        if key not in self._meta:
            if len(self._meta) > 256:
                self._meta.clear()
            rows = source.rows
            if source.hidden:  # later uploads replaced some rows: count what is served
                counted = await engine.run(Query(source.name, (Measure(Aggregate.COUNT),)), source)
                rows = int(counted.rows[0][0])
            schema, span = await asyncio.gather(engine.schema(source), engine.time_range(source))
            self._meta[key] = Metadata(schema, span, rows)
        return self._meta[key]

    async def columns(self, name: str) -> dict[str, str]:
        return (await self._metadata(await self.source(name))).schema

    async def describe(self, name: str) -> DatasourceInfo:
        source = await self.source(name)
        meta = await self._metadata(source)
        (start, end), schema = meta.time_range, meta.schema
        return DatasourceInfo(
            name=name,
            rows=meta.rows,
            columns=schema,
            time_start=start,
            time_end=end,
            last_ingestion=source.last_ingestion,
        )

    async def datasources(self) -> list[DatasourceInfo]:
        await self._refresh()
        names = sorted(set(self._versions) | self._declared)
        return [await self.describe(name) for name in names]


def _time_bounds(query: Query) -> list[tuple[object, object]]:
    return [
        (f.values + (None, None))[:2]  # type: ignore[misc]
        for f in query.filters
        if f.kind is FilterKind.DATE_RANGE and f.column == TIME
    ]


def _asks_time(query: Query) -> bool:
    return bool(_time_bounds(query))


def _no_rows_in(query: Query, span: tuple[dt.datetime | None, dt.datetime | None]) -> bool:
    """True when the query's time range lies wholly before the data's first row or after its
    last (`span`): it has no rows to count. A range that starts after it ends is the engine's to
    refuse."""
    first, last = span
    if first is None or last is None:
        return False
    for low, high in _time_bounds(query):
        low = low if isinstance(low, dt.datetime) and low.tzinfo else None
        high = high if isinstance(high, dt.datetime) and high.tzinfo else None
        if low is not None and high is not None and low > high:
            return False
        if (high is not None and high <= first) or (low is not None and low > last):
            return True
    return False

"""Performance of the backing systems, measured: the metadata database (PostgreSQL statistics or
SQLite facts), active and slow queries, and each datasource's ingestion pipeline history."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import session_scope
from backend.druid.client import DruidClient, DruidError, parse_timestamp
from backend.status import health as health_service
from backend.status.services import Services
from backend.tasks import repository
from backend.tasks.models import IngestionTask, TaskStatus

RECENT_CHECKS = 50
_response_times: dict[str, collections.deque[float]] = collections.defaultdict(
    lambda: collections.deque(maxlen=RECENT_CHECKS)
)
ENABLE_PG_STAT_STATEMENTS = (
    "1. Add pg_stat_statements to shared_preload_libraries in postgresql.conf; "
    "2. restart PostgreSQL; 3. run CREATE EXTENSION pg_stat_statements; in this database."
)


def _response_stats(name: str, latency_ms: float) -> dict[str, float | int]:
    samples = _response_times[name]
    samples.append(latency_ms)
    return {
        "min_ms": round(min(samples), 3),
        "avg_ms": round(sum(samples) / len(samples), 3),
        "max_ms": round(max(samples), 3),
        "checks": len(samples),
    }


async def database(runtime: Services) -> dict[str, Any]:
    started = time.perf_counter()
    async with session_scope(runtime.reading()) as session:
        if runtime.engine.dialect.name == "postgresql":
            facts = await _postgres_facts(session)
        else:
            facts = await _sqlite_facts(session, runtime.settings.database_url)
    latency = (time.perf_counter() - started) * 1000
    return {
        "id": "metadata",
        "status": "up",
        **facts,
        "response_times": _response_stats("metadata", latency),
    }


async def _postgres_facts(session: AsyncSession) -> dict[str, Any]:
    row = (
        await session.execute(
            text(
                "SELECT version(), pg_database_size(current_database()), "
                "extract(epoch FROM now() - pg_postmaster_start_time()), "
                "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()), "
                "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'), "
                "current_setting('max_connections')::int"
            )
        )
    ).one()
    return {
        "type": "postgresql",
        "version": row[0],
        "size_bytes": int(row[1]),
        "uptime_seconds": float(row[2]),
        "connections": {"total": int(row[3]), "active": int(row[4]), "max": int(row[5])},
    }


async def _sqlite_facts(session: AsyncSession, url: str) -> dict[str, Any]:
    version = await session.scalar(text("SELECT sqlite_version()"))
    database = make_url(url).database
    size = Path(database).stat().st_size if database and Path(database).exists() else None
    return {
        "type": "sqlite",
        "version": version,
        "size_bytes": size,
        "uptime_seconds": None,
        "uptime_reason": "SQLite is a file opened by this process; it has no server uptime",
        "connections": None,
        "connections_reason": "SQLite has no server connections to count",
    }


METADATA = "metadata"
DRUID = "druid"
NOT_A_DATABASE = (
    "queries are listed for the metadata database (id 'metadata') and Druid (id 'druid')"
)


def _not_listed(source: str) -> dict[str, Any] | None:
    if source == METADATA:
        return None
    return {"available": False, "reason": NOT_A_DATABASE[:200], "queries": []}


async def active_queries(runtime: Services, source: str = METADATA) -> dict[str, Any]:
    if source == DRUID:
        return await _druid_tasks(runtime)
    if (refused := _not_listed(source)) is not None:
        return refused
    if runtime.engine.dialect.name != "postgresql":
        return {
            "available": False,
            "reason": "the metadata database is SQLite, which has no view of running queries",
            "queries": [],
        }
    async with session_scope(runtime.reading()) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT pid, usename, datname, state, extract(epoch FROM now() - query_start), "
                    "wait_event_type, wait_event, query FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle' "
                    "ORDER BY query_start"
                )
            )
        ).all()
    queries = [
        {
            "pid": r[0],
            "user": r[1],
            "database": r[2],
            "state": r[3],
            "duration_seconds": float(r[4]) if r[4] is not None else None,
            "wait_event": f"{r[5]}:{r[6]}" if r[5] else None,
            "query": (r[7] or "")[:2000],
        }
        for r in rows
    ]
    return {"available": True, "reason": None, "queries": queries}


async def _druid_tasks(runtime: Services) -> dict[str, Any]:
    """Druid's running ingestion tasks (Druid's own SQL queries are not listed by core Druid)."""
    if runtime.druid is None:
        return {"available": False, "reason": "DRUID_URL is not set", "queries": []}
    try:
        running = await runtime.druid.running_tasks()
    except DruidError as exc:
        return {
            "available": False,
            "reason": f"Druid cannot be asked: {exc.message}",
            "queries": [],
        }
    now = dt.datetime.now(dt.UTC)
    queries = []
    for task in running:
        created = task.get("createdTime")
        started = parse_timestamp(created) if isinstance(created, str) else None
        queries.append(
            {
                "task_id": task.get("id"),
                "type": task.get("type"),
                "datasource": task.get("dataSource"),
                "state": task.get("statusCode") or task.get("status"),
                "duration_seconds": round((now - started).total_seconds(), 3) if started else None,
                "location": (task.get("location") or {}).get("host"),
            }
        )
    return {"available": True, "reason": None, "queries": queries}


def _recommendations(query: str) -> list[str]:
    lowered = " ".join(query.lower().split())
    found = []
    if lowered.startswith("select") and " where " not in lowered and " limit " not in lowered:
        found.append("no WHERE clause: the whole table is read; filter or limit it")
    if "like '%" in lowered or "ilike '%" in lowered:
        found.append("leading-wildcard LIKE cannot use a B-tree index; consider a trigram index")
    if "select *" in lowered:
        found.append("SELECT * reads every column; name the columns needed")
    return found


async def slow_queries(
    runtime: Services, source: str = METADATA, limit: int = 20
) -> dict[str, Any]:
    if (refused := _not_listed(source)) is not None:
        return refused
    if runtime.engine.dialect.name != "postgresql":
        return {
            "available": False,
            "reason": "the metadata database is SQLite; slow query statistics need PostgreSQL with pg_stat_statements",
            "queries": [],
        }
    async with session_scope(runtime.reading()) as session:
        installed = await session.scalar(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
        )
        if not installed:
            return {
                "available": False,
                "reason": f"pg_stat_statements is not installed. {ENABLE_PG_STAT_STATEMENTS}",
                "queries": [],
            }
        rows = (
            await session.execute(
                text(
                    "SELECT query, calls, mean_exec_time, total_exec_time, rows FROM pg_stat_statements "
                    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "ORDER BY mean_exec_time DESC LIMIT :limit"
                ),
                {"limit": limit},
            )
        ).all()
    queries = [
        {
            "query": r[0][:2000],
            "calls": int(r[1]),
            "mean_ms": round(float(r[2]), 3),
            "total_ms": round(float(r[3]), 3),
            "rows": int(r[4]),
            "recommendations": _recommendations(r[0]),
        }
        for r in rows
    ]
    return {"available": True, "reason": None, "queries": queries}


STAGES = (
    "queued",
    "validating",
    "loading",
    "druid_submitting",
    "druid_indexing",
    "druid_loading",
)
# What a task does not work in: a wait for its retry (failed or cancelled until someone retried
# it, waiting out a Druid outage). A queue entry after the first is a wait too (a retry's, or
# a run sent back to wait out a storage outage); the first is the upload's own queue.
_WAITS = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.WAITING_FOR_DRUID})


@dataclass(frozen=True)
class Timing:
    """Where a task's time went, from its event history: seconds per stage (None: never
    reached, or reached and still running), seconds of work in all, and seconds spent waiting
    for a retry (not work, in neither of the others)."""

    stages: dict[str, float | None]
    worked: float | None  # None: not finished
    waited: float


def _intervals(task: IngestionTask) -> list[tuple[str, float, bool]]:
    """Each span of the history: the status it was in, its seconds, and whether it was a wait
    for a retry. The last event's span runs until the next event, so the current one has none."""
    spans = []
    for index, (event, following) in enumerate(itertools.pairwise(task.events)):
        seconds = (following.at - event.at).total_seconds()
        waiting = event.status in _WAITS or (index > 0 and event.status == TaskStatus.QUEUED)
        spans.append((event.status, max(seconds, 0.0), waiting))
    return spans


def timing(task: IngestionTask) -> Timing:
    spans = _intervals(task)
    stages: dict[str, float | None] = dict.fromkeys(STAGES)
    for status, seconds, waiting in spans:
        if not waiting and status in stages:
            stages[status] = round((stages[status] or 0.0) + seconds, 3)
    current = task.events[-1].status if task.events else None
    if current in stages and not TaskStatus(task.status).is_terminal:
        stages[current] = None  # still running: its time is not known yet
    waited = round(sum(seconds for _, seconds, waiting in spans if waiting), 3)
    worked = round(sum(seconds for _, seconds, waiting in spans if not waiting), 3)
    return Timing(stages, worked if task.finished_at else None, waited)


async def pipelines(runtime: Services) -> list[dict[str, Any]]:
    async with session_scope(runtime.reading()) as session:
        tasks = await repository.all_with_events(session)
    grouped: dict[str, list[IngestionTask]] = collections.defaultdict(list)
    for task in tasks:
        grouped[task.datasource].append(task)
    return [_pipeline(name, runs) for name, runs in sorted(grouped.items())]


def _pipeline(name: str, runs: list[IngestionTask]) -> dict[str, Any]:
    finished = [
        t for t in runs if t.status in (TaskStatus.SUCCEEDED.value, TaskStatus.FAILED.value)
    ]
    succeeded = [t for t in finished if t.status == TaskStatus.SUCCEEDED.value]
    by_status = collections.Counter(t.status for t in runs)
    return {
        "datasource": name,
        "runs": len(runs),
        "by_status": dict(by_status),
        "success_rate": round(len(succeeded) / len(finished), 4) if finished else None,
        "rows_loaded": sum(t.rows_valid or 0 for t in succeeded),
        "rows_rejected": sum(t.rows_rejected or 0 for t in runs),
        "last_run": runs[0].created_at.isoformat() if runs else None,
        "recent": [
            {
                "task_id": t.id,
                "status": t.status,
                "filename": t.filename,
                "created_at": t.created_at.isoformat(),
                "finished_at": t.finished_at.isoformat() if t.finished_at else None,
                "duration_seconds": (spent := timing(t)).worked,
                "waited_seconds": spent.waited,
                "stages_seconds": spent.stages,
                "rows_read": t.rows_read,
                "rows_valid": t.rows_valid,
                "rows_rejected": t.rows_rejected,
            }
            for t in runs[:20]
        ],
    }


async def storage(runtime: Services, max_objects: int = 10_000) -> dict[str, Any]:
    check = await health_service.check_storage(runtime)
    entry: dict[str, Any] = {
        "id": "storage",
        "type": "s3" if runtime.store.local_path("x") is None else "local",
        "description": runtime.store.kind,
        "status": "up" if check.status is health_service.Status.HEALTHY else "down",
        "reason": check.detail,
        "version": None,
        "uptime_seconds": None,
        "uptime_reason": "object stores do not report an uptime",
        "connections": None,
        "connections_reason": "object stores do not report connections",
        "size_bytes": None,
        "size_reason": None,
    }
    if check.latency_ms is not None:
        entry["response_times"] = _response_stats("storage", check.latency_ms)
    if check.status is health_service.Status.HEALTHY:
        objects = [
            o for prefix in ("raw", "datasets") for o in await runtime.store.list_prefix(prefix)
        ]
        if len(objects) <= max_objects:
            entry["size_bytes"] = sum(o.size for o in objects)
            entry["objects"] = len(objects)
        else:
            entry["size_reason"] = f"more than {max_objects} objects: not listed on every request"
    return entry


async def _druid_datasources(client: DruidClient) -> dict[str, Any]:
    """Druid's datasources: used segments, their size, and the percent the historicals serve."""
    try:
        segments = await client.datasource_segments()
        loaded = await client.load_status_all()
    except DruidError as exc:
        return {"datasources": None, "datasources_reason": exc.message}
    return {
        "datasources": [
            {"name": name, **facts, "load_percent": loaded.get(name)}
            for name, facts in sorted(segments.items())
        ]
    }


async def dependencies(runtime: Services) -> list[dict[str, Any]]:
    """The service's dependencies (the database, the object storage, Druid when configured), as
    the status API lists them under its public name `dataSources` (not a user's datasource)."""
    found = [await database(runtime), await storage(runtime)]
    if runtime.druid is not None:
        druid = await health_service.check_druid(runtime)
        assert druid is not None
        entry: dict[str, Any] = {
            "id": "druid",
            "type": "druid",
            "status": "up" if druid.status is health_service.Status.HEALTHY else "down",
            "reason": druid.detail,
            "services": druid.data.get("services"),
            "response_times": _response_stats("druid", druid.latency_ms)
            if druid.latency_ms is not None
            else None,
        }
        entry.update(await _druid_datasources(runtime.druid))
        found.append(entry)
    else:
        found.append(
            {
                "id": "druid",
                "type": "druid",
                "status": "not_configured",
                "reason": "DRUID_URL is not set",
            }
        )
    return found

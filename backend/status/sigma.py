"""The Sigma mode: which engine serves dashboards, `standalone` (embedded Polars) or `warehouse`
(Druid), persisted in the database; its status and what this installation can do right now."""

from __future__ import annotations

import datetime as dt
import enum
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import after_commit, session_scope, utcnow
from backend.errors import Conflict
from backend.monitoring import audit
from backend.monitoring.models import SigmaSetting
from backend.redaction import scrub
from backend.status import health as health_service
from backend.status.services import Services
from backend.storage.s3 import S3ObjectStore

SETTING_ID = 1


class Mode(enum.StrEnum):
    STANDALONE = "standalone"
    WAREHOUSE = "warehouse"


@dataclass(frozen=True)
class ModeState:
    mode: Mode
    changed_at: dt.datetime | None  # None: never changed (the default)
    changed_by: str | None


@dataclass(frozen=True)
class SigmaStatus:
    mode: Mode
    operational: bool
    engine: str
    engine_status: str
    engine_latency_ms: float | None
    engine_detail: str | None
    datasources: int
    rows_served: int
    last_change: ModeState


@dataclass(frozen=True)
class Capability:
    name: str
    available: bool
    reason: str


async def current(session: AsyncSession) -> ModeState:
    row = await session.get(SigmaSetting, SETTING_ID)
    if row is None:
        return ModeState(Mode.STANDALONE, None, None)
    return ModeState(Mode(row.mode), row.changed_at, row.changed_by)


async def warehouse_unavailable(runtime: Services) -> str | None:
    """Why dashboards cannot be served by Druid now, or None when they can."""
    if not runtime.settings.druid_url:
        return "DRUID_URL is not set: configure a Druid router to use the warehouse mode"
    druid = await health_service.check_druid(runtime)
    if druid is not None and druid.status is not health_service.Status.HEALTHY:
        return f"Druid is not healthy: {druid.detail}"
    return None


async def set_mode(session: AsyncSession, runtime: Services, mode: Mode, actor: str) -> ModeState:
    if mode is Mode.WAREHOUSE and (reason := await warehouse_unavailable(runtime)):
        raise Conflict(
            f"cannot switch to warehouse: {reason}",
            "Stay in standalone mode, or fix what is named.",
        )
    previous = await current(session)
    row = await session.get(SigmaSetting, SETTING_ID)
    now = utcnow()
    if row is None:
        session.add(SigmaSetting(id=SETTING_ID, mode=mode.value, changed_at=now, changed_by=actor))
    else:
        row.mode, row.changed_at, row.changed_by = mode.value, now, actor
    audit.record(
        session,
        actor,
        "sigma_mode_changed",
        mode.value,
        {"from": previous.mode.value, "to": mode.value},
    )
    await session.flush()
    after_commit(session, runtime.analytics.mode_changed)
    return ModeState(mode, now, actor)


async def status(runtime: Services) -> SigmaStatus:
    async with session_scope(runtime.reading()) as session:
        state = await current(session)
    started = time.perf_counter()
    try:
        sources = await runtime.analytics.datasources()
    except Exception as exc:  # the engine cannot list what it serves: not operational, say why
        return SigmaStatus(
            state.mode,
            False,
            runtime.analytics.engine.name,
            "down",
            None,
            scrub(str(exc))[:300],
            0,
            0,
            state,
        )
    latency = round((time.perf_counter() - started) * 1000, 2)
    return SigmaStatus(
        mode=state.mode,
        operational=True,
        engine=runtime.analytics.engine.name,
        engine_status="healthy",
        engine_latency_ms=latency,
        engine_detail=None,
        datasources=len(sources),
        rows_served=sum(s.rows for s in sources),
        last_change=state,
    )


async def capabilities(runtime: Services) -> list[Capability]:
    storage = await health_service.check_storage(runtime)
    is_s3 = isinstance(runtime.store, S3ObjectStore)
    warehouse = await warehouse_unavailable(runtime)
    return [
        Capability(
            "upload_formats",
            True,
            "CSV/TSV, Excel (.xlsx, .xls) and Parquet, recognised from their bytes",
        ),
        Capability(
            "validation", True, "Pandera schema for sales; inferred schemas for other datasources"
        ),
        Capability(
            "s3_storage",
            is_s3 and storage.status is health_service.Status.HEALTHY,
            storage.detail
            or (
                "storage answers"
                if is_s3
                else "storage is a local folder (STORAGE_URL is not s3://)"
            ),
        ),
        Capability("druid_specs", True, "an ingestion spec is built for every validated upload"),
        Capability(
            "druid_ingestion",
            warehouse is None,
            warehouse
            or f"uploads are loaded into Druid ({runtime.settings.druid_input_format} over "
            f"{runtime.settings.druid_input_source}) and tracked until queryable",
        ),
        Capability(
            "druid_sql",
            warehouse is None,
            warehouse or "dashboards can be served by Druid SQL (warehouse mode)",
        ),
        await _postgres_statistics(runtime),
    ]


async def _postgres_statistics(runtime: Services) -> Capability:
    if runtime.engine.dialect.name != "postgresql":
        return Capability("postgresql_statistics", False, "the metadata database is SQLite")
    async with session_scope(runtime.reading()) as session:
        installed = await session.scalar(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
        )
    if installed:
        return Capability("postgresql_statistics", True, "pg_stat_statements is installed")
    return Capability(
        "postgresql_statistics",
        False,
        "pg_stat_statements is not installed: add it to shared_preload_libraries, restart PostgreSQL, "
        "then run CREATE EXTENSION pg_stat_statements",
    )

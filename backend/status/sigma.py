"""Which engine serves dashboards: the embedded engine (Polars, the `standalone` mode) or Apache
Druid (the `warehouse` mode), persisted in the database; its status and what this installation
can do right now. The API keeps the names "Sigma mode", standalone and warehouse (scripts use
them); what a person reads says "engine", "embedded (Polars)" and "Apache Druid"."""

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


ENGINE_NAMES = {Mode.STANDALONE: "embedded (Polars)", Mode.WAREHOUSE: "Apache Druid"}


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
    # In words: "embedded (Polars)" or "Apache Druid".
    engine_name: str
    # Why Apache Druid cannot be chosen now (a sentence), or None when it can.
    druid_unavailable: str | None


@dataclass(frozen=True)
class Capability:
    name: str  # for scripts: upload_formats, druid_sql...
    available: bool
    reason: str
    description: str  # the sentence a person reads


async def current(session: AsyncSession) -> ModeState:
    row = await session.get(SigmaSetting, SETTING_ID)
    if row is None:
        return ModeState(Mode.STANDALONE, None, None)
    return ModeState(Mode(row.mode), row.changed_at, row.changed_by)


async def warehouse_unavailable(runtime: Services) -> str | None:
    """Why dashboards cannot be served by Druid now (a sentence), or None when they can."""
    if not runtime.settings.druid_url:
        return (
            "Apache Druid is not set up for this service (DRUID_URL is not set): an "
            "administrator sets it to a Druid router's address to use it."
        )
    druid = await health_service.check_druid(runtime)
    if druid is not None and druid.status is not health_service.Status.HEALTHY:
        return f"Apache Druid does not answer as it should: {druid.detail}."
    return None


# What `status` last heard from Druid, per running service: an open Status page asks every few
# seconds, and each answer would otherwise probe Druid again beside health's own probe.
_HEARD: dict[int, tuple[float, str | None]] = {}
_HEARD_SECONDS = 10.0


async def recently_unavailable(runtime: Services) -> str | None:
    """warehouse_unavailable, asked of Druid at most once per 10 s (a mode change asks anew)."""
    if not runtime.settings.druid_url:
        return await warehouse_unavailable(runtime)
    now = time.monotonic()
    heard = _HEARD.get(id(runtime))
    if heard is not None and now - heard[0] < _HEARD_SECONDS:
        return heard[1]
    reason = await warehouse_unavailable(runtime)
    if len(_HEARD) > 64:
        _HEARD.clear()
    _HEARD[id(runtime)] = (now, reason)
    return reason


async def set_mode(session: AsyncSession, runtime: Services, mode: Mode, actor: str) -> ModeState:
    if mode is Mode.WAREHOUSE and (reason := await warehouse_unavailable(runtime)):
        raise Conflict(
            f"Dashboards cannot be served by Apache Druid now (warehouse mode). {reason}",
            "Keep the embedded engine (standalone mode), or fix what is named.",
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
    name, druid = ENGINE_NAMES[state.mode], await recently_unavailable(runtime)
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
            name,
            druid,
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
        engine_name=name,
        druid_unavailable=druid,
    )


async def capabilities(runtime: Services) -> list[Capability]:
    warehouse = await warehouse_unavailable(runtime)
    druid = (
        f"uploads are loaded into Druid ({runtime.settings.druid_input_format} over "
        f"{runtime.settings.druid_input_source}) and tracked until queryable"
    )
    return [
        Capability(
            "upload_formats",
            True,
            "CSV/TSV, Excel (.xlsx, .xls) and Parquet, recognised from their bytes",
            "Files can be uploaded as CSV, TSV, Excel (.xlsx or .xls) or Parquet; the format "
            "is recognised from the file's contents.",
        ),
        Capability(
            "validation",
            True,
            "Pandera schema for sales; inferred schemas for other datasources",
            "Every upload is checked row by row before it is loaded: sales files against the "
            "sales columns, other files against the columns found in their first upload.",
        ),
        await _storage(runtime),
        Capability(
            "druid_specs",
            True,
            "an ingestion spec is built for every validated upload",
            "Every checked upload gets the instructions Apache Druid needs to load it.",
        ),
        Capability(
            "druid_ingestion",
            warehouse is None,
            warehouse or druid,
            "Uploads are loaded into Apache Druid as well, and followed until they can be queried."
            if warehouse is None
            else f"Uploads are not loaded into Apache Druid. {warehouse}",
        ),
        Capability(
            "druid_sql",
            warehouse is None,
            warehouse or "dashboards can be served by Druid SQL (warehouse mode)",
            "Dashboards can be served by Apache Druid."
            if warehouse is None
            else f"Dashboards cannot be served by Apache Druid. {warehouse}",
        ),
        await _postgres_statistics(runtime),
    ]


async def _storage(runtime: Services) -> Capability:
    storage = await health_service.check_storage(runtime)
    is_s3 = isinstance(runtime.store, S3ObjectStore)
    ready = is_s3 and storage.status is health_service.Status.HEALTHY
    if not is_s3:
        reason = "storage is a local folder (STORAGE_URL is not s3://)"
        words = "Uploaded files are kept in a folder on this server, not in S3 object storage."
    elif ready:
        reason, words = "storage answers", "Uploaded files are kept in S3 object storage."
    else:
        reason = storage.detail or "storage does not answer"
        words = f"S3 object storage does not answer now: {reason}."
    return Capability("s3_storage", ready, storage.detail or reason, words)


_STATISTICS = "Statistics of the slowest database statements"


async def _postgres_statistics(runtime: Services) -> Capability:
    name = "postgresql_statistics"
    if runtime.engine.dialect.name != "postgresql":
        return Capability(
            name,
            False,
            "the metadata database is SQLite",
            f"{_STATISTICS} are not available: the service keeps its records in SQLite, "
            "which does not collect them (PostgreSQL does).",
        )
    async with session_scope(runtime.reading()) as session:
        installed = await session.scalar(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
        )
    if installed:
        return Capability(
            name,
            True,
            "pg_stat_statements is installed",
            f"{_STATISTICS} are collected (PostgreSQL's pg_stat_statements).",
        )
    return Capability(
        name,
        False,
        "pg_stat_statements is not installed: add it to shared_preload_libraries, restart PostgreSQL, "
        "then run CREATE EXTENSION pg_stat_statements",
        f"{_STATISTICS} are not collected: an administrator adds pg_stat_statements to "
        "PostgreSQL's shared_preload_libraries, restarts it, then runs CREATE EXTENSION "
        "pg_stat_statements.",
    )

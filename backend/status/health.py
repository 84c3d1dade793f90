"""Health of the whole chain, measured now: metadata database, object storage, workers and (when
configured) Druid. Each check has a status, its latency and, when not ok, why."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from backend import threads
from backend.db import session_scope, utcnow
from backend.errors import as_app_error
from backend.redaction import scrub
from backend.status.services import Services
from backend.tasks import repository
from backend.tasks.models import WorkerHeartbeat

CHECK_TIMEOUT_SECONDS = 5.0
MB = 1024 * 1024
# A worker whose heartbeat is older than this is considered gone.
WORKER_STALE_SECONDS = 30.0


class Status(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass
class Check:
    name: str
    status: Status
    latency_ms: float | None
    detail: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Health:
    status: Status
    reasons: list[str]
    checks: list[Check]
    checked_at: dt.datetime


async def _timed(name: str, probe: Callable[[], Awaitable[dict[str, Any]]]) -> Check:
    started = time.perf_counter()
    try:
        data = await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return Check(name, Status.DOWN, None, f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s")
    except Exception as exc:  # a failed probe is the finding, whatever raised it
        return Check(name, Status.DOWN, _ms(started), _reason(exc))
    return Check(name, Status.HEALTHY, _ms(started), None, data)


def _reason(error: BaseException, prefix: str = "") -> str:
    """Why a probe failed, for viewers: a dependency down in our own words (a driver's message
    names the host and port it tried); other errors scrubbed of paths and credentials."""
    known = as_app_error(error)
    if known is not None:
        return f"{prefix}{known.message} ({type(error).__name__})"
    return f"{prefix}{type(error).__name__}: {scrub(str(error))}"[:300]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def check_database(runtime: Services) -> Check:
    async def probe() -> dict[str, Any]:
        async with session_scope(runtime.reading()) as session:
            await session.execute(text("SELECT 1"))
        return {"backend": runtime.engine.dialect.name}

    return await _timed("database", probe)


async def check_storage(runtime: Services) -> Check:
    """Write, read back and delete a small probe object. One probe runs at a time, its result
    kept a moment (the runtime's storage_probe), and its calls are bounded by CHECK_TIMEOUT_SECONDS:
    a stalled store never holds more than one probe's thread."""
    store = runtime.store.for_probe(CHECK_TIMEOUT_SECONDS)

    async def probe() -> dict[str, Any]:
        key = f"_health/{uuid.uuid4().hex}"
        payload = b"health probe"
        writer = store.writer(key)
        try:
            await writer.write(payload)
            await writer.commit()
        except Exception:  # not on a timeout: the probe must end at its deadline
            await writer.abort()
            raise
        try:
            read = b"".join([chunk async for chunk in store.read_chunks(key)])
        finally:
            await store.delete(key)
        if read != payload:
            raise RuntimeError("the probe object read back differs from what was written")
        return {"store": runtime.store.kind}

    checked: Check = await runtime.storage_probe.run(lambda: _timed("storage", probe))
    # The storage threads now: all running and calls waiting means the store is stalling work.
    return dataclasses.replace(
        checked, data={**checked.data, "threads": threads.snapshot()["storage"]}
    )


def _free_mb(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free // MB


async def check_disk(runtime: Services) -> Check:
    """Free space where this process writes: the temporary folder (uploads being processed),
    the storage folder (a local store) and the cache folder, against MIN_FREE_DISK_MB."""
    started = time.perf_counter()
    folders = {
        "temporary folder": Path(tempfile.gettempdir()),
        "cache folder": Path(runtime.settings.cache_dir),
    }
    local = runtime.store.local_path("_health")
    if local is not None:
        folders["storage folder"] = local.parent
    try:
        free = {place: await threads.FILES.run(_free_mb, path) for place, path in folders.items()}
    except OSError as exc:
        return Check("disk", Status.DEGRADED, _ms(started), f"free space unknown: {exc.strerror}")
    least = runtime.settings.min_free_disk_mb
    low = [f"the {place} has {mb:,} MB free" for place, mb in free.items() if mb < least]
    data = {"free_mb": free, "min_free_mb": least}
    if not low:
        return Check("disk", Status.HEALTHY, _ms(started), None, data)
    detail = (
        f"{'; '.join(low)}, below MIN_FREE_DISK_MB ({least:,} MB): uploads are refused (507) "
        "until disk space is freed"
    )
    return Check("disk", Status.DEGRADED, _ms(started), detail, data)


async def check_workers(runtime: Services) -> Check:
    started = time.perf_counter()
    now = utcnow()
    try:
        async with session_scope(runtime.reading()) as session:
            beats = (await session.scalars(select(WorkerHeartbeat))).all()
            queued, oldest = await repository.queued(session)
            running = await repository.count_active(session)
    except Exception as exc:  # the database check reports the cause; here the figures are unknown
        reason = _reason(exc, "cannot read worker state: ")
        return Check("workers", Status.DOWN, _ms(started), reason)
    alive = [b for b in beats if (now - b.last_seen).total_seconds() <= WORKER_STALE_SECONDS]
    oldest_age = (now - oldest).total_seconds() if oldest is not None else None
    data = {
        "alive": len(alive),
        "slots": sum(b.concurrency for b in alive),
        "heartbeat_age_seconds": min(
            ((now - b.last_seen).total_seconds() for b in alive), default=None
        ),
        "running_tasks": int(running or 0),
        "queue_depth": int(queued or 0),
        "oldest_queued_age_seconds": oldest_age,
    }
    status, detail = Status.HEALTHY, None
    if alive and not data["slots"]:
        status = Status.DEGRADED
        detail = "the worker processes report no running slot: uploads are not processed"
    if not alive:
        status = Status.DEGRADED
        detail = "no worker has reported in the last 30 s: uploads are accepted but not processed"
        if not queued:
            detail = "no worker has reported in the last 30 s (nothing is queued)"
    return Check("workers", status, _ms(started), detail, data)


# A Druid cluster that can ingest and answer needs each of these (an indexer or middle manager).
DRUID_NEEDED = ("coordinator", "overlord", "broker", "historical")
DRUID_WORKERS = ("indexer", "middle_manager")


async def check_druid(runtime: Services) -> Check | None:
    """The router's health, then each Druid service from sys.servers (via the broker)."""
    client = runtime.druid
    if client is None:
        return None

    async def probe() -> dict[str, Any]:
        if not await client.healthy():
            raise RuntimeError("the router's /status/health is not true")
        found = await client.sql(
            "SELECT server_type, server, tier, curr_size, max_size FROM sys.servers "
            "ORDER BY server_type, server"
        )
        services = [
            {"type": kind, "server": server, "tier": tier, "used_bytes": used, "max_bytes": most}
            for kind, server, tier, used, most in found.rows
        ]
        return {"services": services}

    check = await _timed("druid", probe)
    types = {s["type"] for s in check.data.get("services", [])}
    missing = [t for t in DRUID_NEEDED if t not in types]
    if check.status is Status.HEALTHY and not types & set(DRUID_WORKERS):
        missing.append("indexer or middle_manager")
    if check.status is Status.HEALTHY and missing:
        check.status = Status.DEGRADED
        check.detail = f"Druid has no running {', '.join(missing)}: it cannot ingest or answer"
    return check


async def health(runtime: Services) -> Health:
    checks = [
        await check_database(runtime),
        await check_storage(runtime),
        await check_workers(runtime),
        await check_disk(runtime),
    ]
    druid = await check_druid(runtime)
    if druid is not None:
        checks.append(druid)
    return Health(_overall(checks), _reasons(checks), checks, utcnow())


def _overall(checks: list[Check]) -> Status:
    by_name = {c.name: c.status for c in checks}
    if by_name["database"] is Status.DOWN:
        return Status.DOWN  # nothing can be accepted or served without task metadata
    if any(c.status is not Status.HEALTHY for c in checks):
        return Status.DEGRADED
    return Status.HEALTHY


def _reasons(checks: list[Check]) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in checks if c.status is not Status.HEALTHY and c.detail]

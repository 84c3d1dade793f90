"""The queries on tasks and their events: claims, duplicate lookups, pages, counts and the
figures status pages read. Changes of a task's status are backend.tasks.lifecycle's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, delete, exists, func, or_, select, text
from sqlalchemy import update as update_rows
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from backend.db import utcnow
from backend.tasks import lifecycle
from backend.tasks.models import (
    ACTIVE_STATUSES,
    STORED_STATUSES,
    TERMINAL_STATUSES,
    IngestionTask,
    TaskEvent,
    TaskStatus,
)

CLAIM_LOCK = 7_301_442_019  # the advisory lock that serialises claims on PostgreSQL
_ACTIVE = [s.value for s in ACTIVE_STATUSES]
_VALIDATING = [TaskStatus.VALIDATING.value, TaskStatus.LOADING.value]
_ENDED_WITHOUT_DATA = [TaskStatus.FAILED.value, TaskStatus.CANCELLED.value]
# Reached only once a worker has read the task's file (and checked a declared sha256).
_READ = frozenset({TaskStatus.LOADING}) | STORED_STATUSES


def _runnable(now: dt.datetime, waiting: ColumnElement[bool]) -> ColumnElement[bool]:
    """Queued (and due: a task waiting out a storage outage has a next_attempt_at), active with
    an expired lease, or waiting for Druid once its backoff has passed."""
    other = aliased(IngestionTask)
    # One task per datasource reads and validates at a time: a datasource's unique key is
    # checked against what is stored before it, and uploads land in the order they came.
    datasource_busy = (
        exists()
        .where(
            other.datasource == IngestionTask.datasource,
            other.id != IngestionTask.id,
            other.status.in_(_VALIDATING),
            other.lease_expires_at >= now,
        )
        .correlate(IngestionTask)
    )
    due = or_(IngestionTask.next_attempt_at.is_(None), IngestionTask.next_attempt_at <= now)
    return or_(
        and_(IngestionTask.status == TaskStatus.QUEUED.value, ~datasource_busy, due),
        and_(IngestionTask.status.in_(_ACTIVE), IngestionTask.lease_expires_at < now),
        and_(waiting, due),
    )


async def claim_next(session: AsyncSession, owner: str, lease_seconds: float) -> str | None:
    """Atomically take the oldest runnable task: queued, or active with an expired lease.

    The same statement moves it on (queued to `validating`, waiting for Druid to
    `druid_submitting`; a taken-over task keeps its state) and sets the lease, so no other worker
    sees it as runnable until the lease expires. A task waiting for Druid is runnable once its
    backoff has passed.
    """
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # One claim at a time, so the check below sees the claims of other workers.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
    waiting = IngestionTask.status == TaskStatus.WAITING_FOR_DRUID.value
    runnable = _runnable(now, waiting)
    candidate = (
        select(IngestionTask.id)
        .where(runnable)
        .order_by(IngestionTask.created_at, IngestionTask.id)
        .limit(1)
        .with_for_update(
            skip_locked=True
        )  # PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers
        .scalar_subquery()
    )
    return await lifecycle.claim(
        session,
        and_(IngestionTask.id == candidate, runnable),
        owner=owner,
        lease_seconds=lease_seconds,
        now=now,
    )


def _with_events(query: Select[IngestionTask]) -> Select[IngestionTask]:
    return query.options(selectinload(IngestionTask.events))


async def find(
    session: AsyncSession, task_id: str, *, lock: bool = False, events: bool = True
) -> IngestionTask | None:
    """A task (with its events unless `events` is false); `lock`: held until the transaction
    ends (PostgreSQL row lock; SQLite's write transactions are serialised already)."""
    if not events and not lock:
        return await session.get(IngestionTask, task_id)
    query = select(IngestionTask).where(IngestionTask.id == task_id)
    if events:
        query = _with_events(query)
    if lock:
        query = query.with_for_update(of=IngestionTask)
    return (await session.scalars(query)).first()


async def same_content(session: AsyncSession, datasource: str, sha256: str) -> list[IngestionTask]:
    """The latest tasks (at most 100, newest first) with these bytes for this datasource that
    did not fail nor were cancelled, with their events; never a preview (a dry run loads
    nothing), nor a task whose sha256 was only declared and no worker has checked yet."""
    query = (
        _with_events(select(IngestionTask))
        .where(
            IngestionTask.datasource == datasource,
            IngestionTask.sha256 == sha256,
            IngestionTask.status.not_in(_ENDED_WITHOUT_DATA),
            IngestionTask.dry_run.is_(False),
        )
        .order_by(IngestionTask.created_at.desc())
        .limit(100)
    )
    return [task for task in (await session.scalars(query)).all() if not sha256_unverified(task)]


def sha256_unverified(task: IngestionTask) -> bool:
    """Whether the task's sha256 is one declared by its uploader (an upload session completed on
    S3, or a copy of such a task's file) that no worker has checked against the bytes yet: it
    says nothing of the bytes, neither for a duplicate check nor for a copy of the file."""
    options = task.options or {}
    return (
        bool(options.get("sha256_declared"))
        and not options.get("sha256_verified")
        and TaskStatus(task.status) not in _READ
    )


async def mark_sha256_verified(session: AsyncSession, task_id: str) -> None:
    """Record that a worker found the task's bytes to have its declared sha256."""
    task = await session.get(IngestionTask, task_id)
    if task is not None:
        task.options = {**task.options, "sha256_verified": True}


async def pending_for(session: AsyncSession, datasource: str) -> str | None:
    """A task of the datasource that has (or will have) data: neither failed nor cancelled."""
    return await session.scalar(
        select(IngestionTask.id)
        .where(
            IngestionTask.datasource == datasource,
            IngestionTask.status.not_in(_ENDED_WITHOUT_DATA),
        )
        .limit(1)
    )


async def page(
    session: AsyncSession,
    *,
    datasource: str | None,
    status: TaskStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[IngestionTask], int]:
    """A page of tasks, newest first, with their events, and how many match in all."""
    conditions = []
    if datasource:
        conditions.append(IngestionTask.datasource == datasource)
    if status:
        conditions.append(IngestionTask.status == status.value)
    total = await session.scalar(select(func.count()).select_from(IngestionTask).where(*conditions))
    query = (
        _with_events(select(IngestionTask))
        .where(*conditions)
        .order_by(IngestionTask.created_at.desc(), IngestionTask.id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.scalars(query)).all()), int(total or 0)


async def all_with_events(session: AsyncSession) -> Sequence[IngestionTask]:
    """Every task with its events, newest first."""
    query = _with_events(select(IngestionTask)).order_by(IngestionTask.created_at.desc())
    return (await session.scalars(query)).all()


async def queued(session: AsyncSession) -> tuple[int, dt.datetime | None]:
    """How many tasks are queued, and when the oldest was created."""
    depth, oldest = (
        await session.execute(
            select(func.count(), func.min(IngestionTask.created_at)).where(
                IngestionTask.status == TaskStatus.QUEUED.value
            )
        )
    ).one()
    return int(depth or 0), oldest


async def count_active(session: AsyncSession) -> int:
    """Tasks a worker holds (or held until its lease expires)."""
    running = await session.scalar(select(func.count()).where(IngestionTask.status.in_(_ACTIVE)))
    return int(running or 0)


async def count_for(
    session: AsyncSession,
    datasource: str,
    statuses: Iterable[str] | None = None,
    *,
    previews: bool = True,
) -> int:
    """The datasource's tasks (in `statuses`, when given; without dry runs unless `previews`)."""
    query = select(func.count()).select_from(IngestionTask)
    query = query.where(IngestionTask.datasource == datasource)
    if not previews:
        query = query.where(IngestionTask.dry_run.is_(False))
    if statuses is not None:
        query = query.where(IngestionTask.status.in_(list(statuses)))
    return int(await session.scalar(query) or 0)


async def ids_for(session: AsyncSession, datasource: str, *, lock: bool = False) -> list[str]:
    """The datasource's tasks; `lock`: held (in id order) until the transaction ends, so a
    change of one of them in progress (a retry) ends before the caller reads their states."""
    query = select(IngestionTask.id).where(IngestionTask.datasource == datasource)
    if lock:
        query = query.order_by(IngestionTask.id).with_for_update()
    return list(await session.scalars(query))


async def existing(session: AsyncSession, ids: Sequence[str]) -> set[str]:
    """Those of `ids` that are tasks."""
    found = await session.scalars(select(IngestionTask.id).where(IngestionTask.id.in_(ids)))
    return set(found)


async def previews_ended_before(
    session: AsyncSession, keys: Sequence[str], before: dt.datetime
) -> dict[str, str]:
    """The dry runs (previews) whose file is one of the storage `keys` and that ended before
    `before` (succeeded, failed or cancelled: one still queued or running keeps its file):
    task id -> its file's key."""
    ended = func.coalesce(IngestionTask.finished_at, IngestionTask.updated_at)
    found = await session.execute(
        select(IngestionTask.id, IngestionTask.storage_key).where(
            IngestionTask.storage_key.in_(keys),
            IngestionTask.dry_run.is_(True),
            IngestionTask.status.in_([s.value for s in TERMINAL_STATUSES]),
            ended < before,
        )
    )
    return {str(task_id): str(key) for task_id, key in found}


async def delete_tasks(session: AsyncSession, task_ids: Sequence[str]) -> None:
    """Remove tasks and their events."""
    await session.execute(delete(TaskEvent).where(TaskEvent.task_id.in_(task_ids)))
    await session.execute(delete(IngestionTask).where(IngestionTask.id.in_(task_ids)))


async def stored_datasets(
    session: AsyncSession, statuses: Iterable[TaskStatus]
) -> Sequence[Row[str, str | None, int | None, dt.datetime | None, str | None, str | None]]:
    """(datasource, dataset key, valid rows, finished at, replaced interval, Druid rollup) of
    the tasks in `statuses` that stored a dataset, by datasource in the order they landed."""
    return (
        await session.execute(
            select(
                IngestionTask.datasource,
                IngestionTask.dataset_key,
                IngestionTask.rows_valid,
                IngestionTask.finished_at,
                IngestionTask.replace_interval,
                IngestionTask.druid_rollup,
            )
            .where(
                IngestionTask.status.in_([s.value for s in statuses]),
                IngestionTask.dataset_key.is_not(None),
            )
            # In the order the datasets landed (a replace hides the rows of those before it):
            # a task retried after a later upload's replace lands after it. Not finished yet
            # (on its way into Druid): last, in the order they were sent.
            .order_by(
                IngestionTask.datasource,
                IngestionTask.finished_at.is_(None),
                IngestionTask.finished_at,
                IngestionTask.created_at,
                IngestionTask.id,
            )
        )
    ).all()


async def events_after(
    session: AsyncSession, task_id: str, after: int, limit: int
) -> list[TaskEvent]:
    """The task's events after event `after`, oldest first (at most `limit`)."""
    return list(
        await session.scalars(
            select(TaskEvent)
            .where(TaskEvent.task_id == task_id, TaskEvent.id > after)
            .order_by(TaskEvent.id)
            .limit(limit)
        )
    )


async def count_events(
    session: AsyncSession,
    task_id: str,
    *,
    status: TaskStatus | None = None,
    starting: str | None = None,
) -> int:
    """The task's events in `status`, or whose message starts with `starting`."""
    query = select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id == task_id)
    if status is not None:
        query = query.where(TaskEvent.status == status.value)
    if starting is not None:
        query = query.where(TaskEvent.message.startswith(starting))
    return int(await session.scalar(query) or 0)


async def latest_changed(session: AsyncSession) -> tuple[dt.datetime | None, list[IngestionTask]]:
    """When a task last changed, and the tasks that changed then."""
    since = await session.scalar(select(func.max(IngestionTask.updated_at)))
    latest = await session.scalars(select(IngestionTask).where(IngestionTask.updated_at == since))
    return since, list(latest.all())


async def changed_since(
    session: AsyncSession, since: dt.datetime | None, datasource: str | None, limit: int
) -> list[IngestionTask]:
    """Tasks (of `datasource`, or any) changed at or after `since`, in the order they changed."""
    query = select(IngestionTask).order_by(IngestionTask.updated_at).limit(limit)
    if since is not None:
        query = query.where(IngestionTask.updated_at >= since)
    if datasource is not None:
        query = query.where(IngestionTask.datasource == datasource)
    return list(await session.scalars(query))


async def set_columns(
    session: AsyncSession, task_id: str, owner: str | None = None, **columns: Any
) -> bool:
    """Set columns other than the status (a trace, rows read, a lease's expiry), only while
    `owner` holds the task when one is given. False when no task was changed."""
    if "status" in columns:
        raise TypeError("a task's status changes through backend.tasks.lifecycle")
    query = update_rows(IngestionTask).where(IngestionTask.id == task_id)
    if owner is not None:
        query = query.where(IngestionTask.lease_owner == owner)
    result = await session.execute(query.values(**columns))
    return getattr(result, "rowcount", 1) != 0


async def lock_content(session: AsyncSession, datasource: str, sha256: str) -> None:
    """Serialise uploads of the same bytes to the same datasource until this transaction ends,
    so the duplicate check and the insert are atomic. PostgreSQL: a transaction-level advisory
    lock on the pair; SQLite: every write transaction already begins IMMEDIATE (one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"upload:{datasource}:{sha256}"},
        )

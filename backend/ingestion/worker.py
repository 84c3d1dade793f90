"""Durable background workers: claim queued tasks from the database with a lease, process them,
and pick up tasks whose worker died once its lease has expired.

Every state change is a short transaction guarded by `lease_owner`, so a worker that lost its
lease (cancelled task, or a lease taken over after a stall) can never overwrite the task.
Processing writes to keys derived from the task id, so running a task twice leaves one copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import SessionMaker, session_scope, utcnow
from backend.ingestion import normalize, processing
from backend.ingestion.models import (
    ACTIVE_STATUSES,
    DatasourceSchema,
    IngestionTask,
    TaskEvent,
    TaskStatus,
    WorkerHeartbeat,
)
from backend.ingestion.normalize import Failure
from backend.ingestion.sources.base import ReadError
from backend.ingestion.validation.schema import DatasetSchema
from backend.storage import ObjectStore

log = logging.getLogger(__name__)

_ACTIVE = [s.value for s in ACTIVE_STATUSES]
# Called with the datasource's name right after new data for it is committed (cache invalidation).
DataLanded = Callable[[str], None]


class LeaseLost(Exception):
    """The task was cancelled or taken over; this worker must stop touching it."""


async def claim_next(session: AsyncSession, owner: str, lease_seconds: float) -> str | None:
    """Atomically take the oldest runnable task: queued, or active with an expired lease.

    The same statement moves it to `validating` and sets the lease, so no other worker sees it
    as runnable until the lease expires.
    """
    now = utcnow()
    runnable = or_(
        IngestionTask.status == TaskStatus.QUEUED.value,
        and_(IngestionTask.status.in_(_ACTIVE), IngestionTask.lease_expires_at < now),
    )
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
    claimed = await session.execute(
        update(IngestionTask)
        .where(IngestionTask.id == candidate, runnable)
        .values(
            lease_owner=owner,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=IngestionTask.attempts + 1,
            status=TaskStatus.VALIDATING.value,
            progress=0.0,
            updated_at=now,
        )
        .returning(IngestionTask.id)
    )
    return claimed.scalar_one_or_none()


class TaskRunner:
    """Processes one claimed task, holding its lease."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionMaker,
        store: ObjectStore,
        owner: str,
        on_data_landed: DataLanded | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = store
        self.owner = owner
        self.on_data_landed = on_data_landed
        self._progress: normalize.Progress | None = None

    async def run(self, task_id: str) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(task_id))
        try:
            await self._run(task_id)
        except LeaseLost:
            log.info("task %s: lease lost (cancelled or taken over); stopping", task_id)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _run(self, task_id: str) -> None:
        task = await self._start(task_id)
        if task is None:
            return
        try:
            await self._process(task)
        except ReadError as exc:
            await self._fail(task_id, Failure("read_error", exc.message, exc.hint))
        except LeaseLost:
            raise
        except Exception as exc:
            log.exception("task %s failed unexpectedly", task_id)
            message = f"processing stopped on an unexpected error: {type(exc).__name__}: {exc}"
            hint = "Retry the task; if it fails again, report it with this task id."
            await self._fail(task_id, Failure("internal_error", message, hint))

    async def _start(self, task_id: str) -> IngestionTask | None:
        async with session_scope(self.sessions) as session:
            task = await session.get(IngestionTask, task_id)
            if task is None or task.lease_owner != self.owner:
                return None
            if task.attempts > self.settings.worker_max_attempts:
                self._record(
                    session,
                    task,
                    TaskStatus.FAILED,
                    f"gave up after {task.attempts - 1} attempts that ended without a result "
                    "(the worker process died or stalled each time)",
                    error={
                        "code": "worker_died",
                        "message": "the worker stopped repeatedly while processing this file",
                        "detail": "The file may be too large for the worker's memory. Retry, or "
                        "split the file.",
                    },
                )
                return None
            resumed = task.attempts > 1
            message = (
                f"resumed by {self.owner} (attempt {task.attempts}) after the previous worker's "
                "lease expired"
                if resumed
                else f"processing started by {self.owner}"
            )
            self._record(session, task, TaskStatus.VALIDATING, message, progress=0.05)
            task.started_at = task.started_at or utcnow()
            return task

    async def _process(self, task: IngestionTask) -> None:
        async with session_scope(self.sessions) as session:
            schema = await processing.known_schema(session, task.datasource)
        self._progress = normalize.Progress()
        with tempfile.TemporaryDirectory(prefix=f"ingest-{task.id}-") as tmp:
            done = await processing.process(self.store, task, schema, Path(tmp), self._progress)
            outcome = done.outcome
            if outcome.failure is not None or outcome.dataset is None:
                failure = outcome.failure or Failure(
                    "internal_error", "no dataset was produced", "Retry the task."
                )
                await self._fail(task.id, failure, report=done.report, **done.counts)
                return
            await self._transition(
                task.id,
                TaskStatus.LOADING,
                f"{done.counts['rows_valid']} valid rows of {done.counts['rows_read']}; storing the dataset",
                progress=0.7,
                report=done.report,
                druid_spec=processing.druid_spec(
                    self.store, task, outcome, self.settings.druid_max_concurrent_subtasks
                ),
                **done.counts,
            )
            await self.store.put_file(
                processing.dataset_key(task.datasource, task.id), outcome.dataset
            )
        if self.settings.worker_debug_pause_seconds:
            await asyncio.sleep(self.settings.worker_debug_pause_seconds)
        new_schema = (
            outcome.schema
            if schema is None and outcome.schema and outcome.schema.inferred
            else None
        )
        await self._succeed(task, done.counts, new_schema)

    async def _succeed(
        self, task: IngestionTask, counts: dict[str, Any], new_schema: DatasetSchema | None
    ) -> None:
        key = processing.dataset_key(task.datasource, task.id)

        async def remember_schema(session: AsyncSession) -> None:
            if (
                new_schema is not None
                and await session.get(DatasourceSchema, task.datasource) is None
            ):
                session.add(
                    DatasourceSchema(
                        datasource=task.datasource,
                        definition=new_schema.as_dict(),
                        source_task_id=task.id,
                        created_at=utcnow(),
                    )
                )

        try:
            await self._transition(
                task.id,
                TaskStatus.SUCCEEDED,
                f"{counts['rows_valid']} rows stored as {key}",
                also=remember_schema,
                progress=1.0,
                dataset_key=key,
                finished_at=utcnow(),
                lease_owner=None,
                lease_expires_at=None,
            )
            if self.on_data_landed is not None:
                # Called before this coroutine awaits again, so no query sees the new data
                # committed while the old results are still cached.
                self.on_data_landed(task.datasource)
        except LeaseLost:
            # Cancelled while loading: the data must not stay behind.
            await self.store.delete(key)
            raise

    async def _fail(
        self, task_id: str, failure: Failure, report: dict[str, Any] | None = None, **counts: Any
    ) -> None:
        await self._transition(
            task_id,
            TaskStatus.FAILED,
            failure.message,
            error={"code": failure.code, "message": failure.message, "detail": failure.hint},
            report=report,
            finished_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
            **counts,
        )

    async def _transition(
        self,
        task_id: str,
        status: TaskStatus,
        message: str,
        *,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
        **values: Any,
    ) -> None:
        """Move the task on, only while this worker still holds it."""
        now = utcnow()
        async with session_scope(self.sessions) as session:
            result = await session.execute(
                update(IngestionTask)
                .where(
                    IngestionTask.id == task_id,
                    IngestionTask.lease_owner == self.owner,
                    IngestionTask.status.in_(_ACTIVE),
                )
                .values(status=status.value, updated_at=now, **values)
                .returning(IngestionTask.id)
            )
            if result.scalar_one_or_none() is None:
                raise LeaseLost(task_id)
            session.add(TaskEvent(task_id=task_id, at=now, status=status.value, message=message))
            if also is not None:
                await also(session)

    def _record(
        self,
        session: AsyncSession,
        task: IngestionTask,
        status: TaskStatus,
        message: str,
        *,
        progress: float | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        now = utcnow()
        task.status = status.value
        task.updated_at = now
        if progress is not None:
            task.progress = progress
        if error is not None:
            task.error = error
            task.finished_at = now
            task.lease_owner = None
            task.lease_expires_at = None
        session.add(TaskEvent(task_id=task.id, at=now, status=status.value, message=message))

    async def _heartbeat(self, task_id: str) -> None:
        interval = self.settings.worker_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            expires = utcnow() + dt.timedelta(seconds=self.settings.worker_lease_seconds)
            values: dict[str, Any] = {"lease_expires_at": expires}
            if self._progress is not None and self._progress.rows:
                values["rows_read"] = self._progress.rows  # visible while a big file is read
            async with session_scope(self.sessions) as session:
                result = await session.execute(
                    update(IngestionTask)
                    .where(IngestionTask.id == task_id, IngestionTask.lease_owner == self.owner)
                    .values(**values)
                )
            if getattr(result, "rowcount", 1) == 0:
                return


class WorkerPool:
    """N asyncio workers in this process, polling the database and woken early on new uploads."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionMaker,
        store: ObjectStore,
        on_data_landed: DataLanded | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = store
        self.on_data_landed = on_data_landed
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for slot in range(self.settings.worker_concurrency):
            self._loops.append(asyncio.create_task(self._loop(f"{self.name}/{slot}")))
        self._loops.append(asyncio.create_task(self._beat()))

    async def _beat(self) -> None:
        """Record that this process's workers are alive, every poll interval (at most 5 s)."""
        started = utcnow()
        while not self._stopping.is_set():
            try:
                async with session_scope(self.sessions) as session:
                    beat = await session.get(WorkerHeartbeat, self.name)
                    if beat is None:
                        session.add(
                            WorkerHeartbeat(
                                worker=self.name,
                                concurrency=self.settings.worker_concurrency,
                                started_at=started,
                                last_seen=utcnow(),
                            )
                        )
                    else:
                        beat.last_seen = utcnow()
            except Exception:
                log.exception("worker heartbeat could not be recorded")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), min(5.0, self.settings.worker_poll_seconds * 5)
                )

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops.clear()
        with contextlib.suppress(Exception):  # a clean stop is not a dead worker
            async with session_scope(self.sessions) as session:
                await session.execute(
                    delete(WorkerHeartbeat).where(WorkerHeartbeat.worker == self.name)
                )

    async def _loop(self, owner: str) -> None:
        runner = TaskRunner(self.settings, self.sessions, self.store, owner, self.on_data_landed)
        while not self._stopping.is_set():
            try:
                task_id = await self._claim(owner)
            except Exception:
                log.exception("worker %s could not claim a task; retrying", owner)
                task_id = None
            if task_id is None:
                await self._idle()
                continue
            try:
                await runner.run(task_id)
            except Exception:
                # The lease runs out and the task is claimed again; nothing is lost.
                log.exception(
                    "worker %s stopped on task %s; it will be picked up again", owner, task_id
                )

    async def _claim(self, owner: str) -> str | None:
        async with session_scope(self.sessions) as session:
            return await claim_next(session, owner, self.settings.worker_lease_seconds)

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_seconds)
        self._wake.clear()

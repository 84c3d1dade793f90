"""One claimed task, processed while its worker holds the lease: validate and store the dataset,
then (with DRUID_URL set) load it into Druid until queryable.

Every state change is a short transaction guarded by `lease_owner`, so a worker that lost its
lease (cancelled task, or a lease taken over after a stall) can never overwrite the task.
Processing writes to keys derived from the task id, so running a task twice leaves one copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import druid_load as druid_phase
from backend.analytics.catalog import DatasetFiles, load_versions
from backend.config import Settings
from backend.contracts.sales import SALES
from backend.contracts.schema import DatasetSchema
from backend.contracts.stored import DatasourceSchema, evolve_stored, known_schema
from backend.db import SessionMaker, session_scope, utcnow
from backend.druid.client import DruidClient, DruidError, DruidUnavailable
from backend.errors import (
    UNEXPECTED,
    StorageOutage,
)
from backend.logging_setup import TASK_ID
from backend.monitoring import tracing
from backend.monitoring.metrics import Registry
from backend.pipeline import normalize
from backend.pipeline.normalize import Failure
from backend.pipeline.sources.base import ReadError
from backend.redaction import redact, scrub
from backend.storage import ObjectStore
from backend.tasks.models import (
    ACTIVE_STATUSES,
    DRUID_STATUSES,
    STORED_STATUSES,
    IngestionTask,
    TaskEvent,
    TaskStatus,
)
from backend.worker import processing
from backend.worker.outages import RETRY_LATER, STORAGE_WAIT, disk_full_in, public_message

log = logging.getLogger(__name__)
PROGRESS_TICK_SECONDS = 0.5
log = logging.getLogger(__name__)

_ACTIVE = [s.value for s in ACTIVE_STATUSES]


# Called with the datasource's name right after new data for it is committed (cache invalidation).
DataLanded = Callable[[str], None]


@dataclass(frozen=True)
class DruidAccess:
    """What a worker needs to load into Druid: the client and the URL-signing key."""

    client: DruidClient
    signing_key: bytes


class LeaseLost(tracing.Stop):
    """The task was cancelled or taken over; this worker must stop touching it."""


class TaskRunner:
    """Processes one claimed task, holding its lease."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionMaker,
        store: ObjectStore,
        owner: str,
        on_data_landed: DataLanded | None = None,
        druid: DruidAccess | None = None,
        *,
        metrics: Registry | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = store
        self.owner = owner
        self.on_data_landed = on_data_landed
        self.druid = druid
        self.metrics = metrics
        self._progress: normalize.Progress | None = None
        self._stage: tuple[str, float] | None = None  # the task's state here, and since when

    def _measure(self, status: TaskStatus, values: dict[str, Any]) -> None:
        """Stage durations, rows and outcomes, for Prometheus (this process's registry)."""
        if self.metrics is None:
            return
        now = time.monotonic()
        if self._stage is not None and self._stage[0] != status.value:
            self.metrics.stages.labels(self._stage[0]).observe(now - self._stage[1])
        if self._stage is None or self._stage[0] != status.value:
            self._stage = (status.value, now)
        for outcome in ("valid", "rejected"):
            if values.get(f"rows_{outcome}"):
                self.metrics.rows.labels(outcome).inc(values[f"rows_{outcome}"])
        if status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
            self.metrics.tasks.labels(status.value).inc()
            self._stage = None

    async def run(self, task_id: str) -> None:
        token = TASK_ID.set(task_id)  # this task's log records say so
        self._stage = None
        try:
            await self._run_task(task_id)
        finally:
            TASK_ID.reset(token)

    async def _run_task(self, task_id: str) -> None:
        helpers = [
            asyncio.create_task(self._heartbeat(task_id)),
            asyncio.create_task(self._ticks(task_id)),
        ]
        try:
            await self._run(task_id)
        except LeaseLost:
            pass  # said in _run, within the task's trace
        finally:
            for helper in helpers:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper

    async def _run(self, task_id: str) -> None:
        task = await self._start(task_id)
        if task is None:
            return
        druid_only = TaskStatus(task.status) in DRUID_STATUSES and task.dataset_key is not None
        # This run continues the upload's trace (a new one for a task accepted untraced).
        with tracing.continued(
            task.trace_context,
            "ingest task",
            **{
                "ingest.task_id": task.id,
                "ingest.datasource": task.datasource,
                "ingest.attempt": task.attempts,
                "ingest.phase": "druid" if druid_only else "process",
            },
        ) as span:
            if task.trace_context is None and (kept := tracing.carrier()):
                await self._keep_trace(task.id, kept)
            try:
                await self._run_traced(task, druid_only)
            except LeaseLost:
                span.set_attribute("ingest.stopped", "lease lost: cancelled or taken over")
                log.info("task %s: lease lost (cancelled or taken over); stopping", task_id)
                raise

    async def _keep_trace(self, task_id: str, context: dict[str, str]) -> None:
        async with session_scope(self.sessions) as session:
            await session.execute(
                update(IngestionTask)
                .where(IngestionTask.id == task_id)
                .values(trace_context=context)
            )

    async def _run_traced(self, task: IngestionTask, druid_only: bool) -> None:
        task_id = task.id
        try:
            if druid_only:
                await self._load_into_druid(task)
            else:
                await self._process(task)
        except ReadError as exc:
            if (full := disk_full_in(exc)) is not None:  # Polars failed writing its parts
                await self._fail(task_id, Failure("disk_full", full.message, RETRY_LATER))
                return
            await self._fail(task_id, Failure("read_error", exc.message, exc.hint))
        except LeaseLost:
            raise
        except StorageOutage:
            await self._wait_for_storage(task_id)
        except UNEXPECTED as exc:
            if (full := disk_full_in(exc)) is not None:
                await self._fail(task_id, Failure("disk_full", full.message, RETRY_LATER))
                return
            log.exception("task %s failed unexpectedly", task_id)
            message = f"processing stopped on an unexpected error: {public_message(exc)}"
            hint = "Retry the task; if it fails again, report it with this task id."
            await self._fail(task_id, Failure("internal_error", redact(message), hint))

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
            if TaskStatus(task.status) in DRUID_STATUSES and task.dataset_key is not None:
                self._record(
                    session, task, TaskStatus(task.status), f"Druid loading resumed by {self.owner}"
                )
                return task
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

    async def _loaded(self, task: IngestionTask, schema: DatasetSchema | None) -> list[Path]:
        """The datasource's datasets so far, when its schema has a key unique per datasource."""
        if task.datasource != SALES and (schema is None or schema.unique is None):
            return []
        async with session_scope(self.sessions) as session:
            version = (await load_versions(session, STORED_STATUSES)).get(task.datasource)
        if version is None:
            return []
        files = DatasetFiles(self.store, Path(self.settings.cache_dir) / "datasets")
        return await files.paths(version)

    async def _process(self, task: IngestionTask) -> None:
        async with session_scope(self.sessions) as session:
            schema = await known_schema(session, task.datasource)
            runs = await session.scalar(
                select(func.count())
                .select_from(TaskEvent)
                .where(
                    TaskEvent.task_id == task.id,
                    TaskEvent.status == TaskStatus.VALIDATING.value,
                )
            )
        # Each run records one "validating" event as it starts. After the first, an earlier run
        # may still be winding down (cancelled then retried, or its lease taken over): this run
        # stores under a key of its own, so that the earlier one's clean-up cannot remove it.
        later_run = uuid.uuid4().hex[:12] if (runs or 0) > 1 else None
        key = processing.dataset_key(task.datasource, task.id, later_run)
        self._progress = normalize.Progress()
        druid = self.druid
        loaded = await self._loaded(task, schema)
        with tempfile.TemporaryDirectory(prefix=f"ingest-{task.id}-") as tmp:
            limits = processing.input_limits(self.settings)
            done = await processing.process(
                self.store, task, schema, Path(tmp), self._progress, loaded, limits
            )
            outcome = done.outcome
            if outcome.failure is not None or outcome.dataset is None:
                failure = outcome.failure or Failure(
                    "internal_error", "no dataset was produced", "Retry the task."
                )
                await self._fail(task.id, failure, report=done.report, **done.counts)
                return
            spec = processing.druid_spec(self.settings, self.store, task, outcome, key)
            await self._transition(
                task.id,
                TaskStatus.LOADING,
                f"{done.counts['rows_valid']} valid rows of {done.counts['rows_read']}; storing the dataset",
                progress=0.7,
                report=done.report,
                druid_spec=spec.spec if spec else None,
                replace_interval=spec.replace_interval if spec else None,
                **done.counts,
            )
            with tracing.span("store dataset", **{"ingest.bytes": outcome.dataset.stat().st_size}):
                await self.store.put_file(key, outcome.dataset)
                if druid is not None:
                    await druid_phase.write_copy(
                        self.settings, self.store, task, outcome.dataset, Path(tmp)
                    )
        if self.settings.worker_debug_pause_seconds:
            await asyncio.sleep(self.settings.worker_debug_pause_seconds)
        # The first upload fixes the datasource's contract (and an inferred one's columns); a
        # later one may evolve them (evolve=...).
        evolved = outcome.schema is not None and bool(outcome.schema.changes)
        new_schema = outcome.schema if schema is None or evolved else None
        if druid is None:
            await self._stored(task, TaskStatus.SUCCEEDED, done.counts, new_schema, key)
            return
        await self._stored(task, TaskStatus.DRUID_SUBMITTING, done.counts, new_schema, key)
        task.dataset_key = key
        task.druid_spec = spec.spec if spec else None
        task.druid_datasource = druid_phase.druid_datasource(self.settings, task.datasource)
        await self._load_into_druid(task)

    async def _stored(
        self,
        task: IngestionTask,
        status: TaskStatus,
        counts: dict[str, Any],
        new_schema: DatasetSchema | None,
        key: str,
    ) -> None:
        """The dataset is stored under `key`: the embedded engine serves it from now on."""

        async def remember_schema(session: AsyncSession) -> None:
            if new_schema is None:
                return
            stored = await session.get(DatasourceSchema, task.datasource, with_for_update=True)
            if stored is None:
                session.add(
                    DatasourceSchema(
                        datasource=task.datasource,
                        definition=new_schema.as_dict(),
                        source_task_id=task.id,
                        created_at=utcnow(),
                    )
                )
            elif new_schema.changes:
                # Applied to the stored definition (locked): uploads evolving it at once agree.
                evolve_stored(stored, new_schema, f"upload {task.id}")

        values: dict[str, Any] = {"dataset_key": key}
        if status is TaskStatus.SUCCEEDED:
            now = utcnow()
            values.update(
                progress=1.0,
                finished_at=now,
                data_as_of=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        else:
            values.update(
                progress=0.8,
                druid_datasource=druid_phase.druid_datasource(self.settings, task.datasource),
            )
        message = f"{counts['rows_valid']} rows stored as {key}"
        if status is not TaskStatus.SUCCEEDED:
            message += "; loading them into Druid"
        if key != processing.dataset_key(task.datasource, task.id):
            await self._remove_earlier_runs(task, key)
        try:
            await self._transition(task.id, status, message, also=remember_schema, **values)
            self._landed(task.datasource)
        except LeaseLost:
            # Cancelled while loading: the data must not stay behind.
            await self.store.delete(key)
            raise

    async def _remove_earlier_runs(self, task: IngestionTask, key: str) -> None:
        """Datasets an earlier run of this task wrote and never recorded (a worker that died
        between storing and success). An earlier run still alive removes its own output when
        it finds it lost the task, so whatever it writes after this goes too."""
        first = processing.dataset_key(task.datasource, task.id)
        folder, _, name = first.rpartition("/")
        run_prefix = name.removesuffix(".parquet") + "-"
        try:
            for found in await self.store.list_prefix(folder):
                other = found.key.rpartition("/")[2]
                if found.key != key and (other == name or other.startswith(run_prefix)):
                    await self.store.delete(found.key)
        except Exception:  # storage unavailable: the leftovers are unreferenced, never served
            log.warning("task %s: an earlier run's dataset could not be removed", task.id)

    def _landed(self, datasource: str) -> None:
        if self.on_data_landed is not None:
            # Called before this coroutine awaits again, so no query sees the new data
            # committed while the old results are still cached.
            self.on_data_landed(datasource)

    async def _load_into_druid(self, task: IngestionTask) -> None:
        assert self.druid is not None, "a Druid phase needs DRUID_URL"
        phase = druid_phase.DruidPhase(
            self.settings, self.store, self.druid.client, self.druid.signing_key, self._step
        )
        try:
            with tempfile.TemporaryDirectory(prefix=f"druid-{task.id}-") as tmp:
                report = await phase.run(task, Path(tmp))
        except LeaseLost:
            await self._stop_cancelled_druid_task(task.id)
            raise
        except DruidUnavailable as exc:
            await self._wait_for_druid(task, exc.message)
            return
        except StorageOutage:
            await self._wait_for_druid(task, "the file storage cannot be reached")
            return
        except druid_phase.DruidFailed as exc:
            await self._fail(
                task.id,
                Failure("druid_failed", exc.message, exc.hint),
                druid_report=exc.report or task.druid_report,
            )
            return
        now = utcnow()
        await self._transition(
            task.id,
            TaskStatus.SUCCEEDED,
            f"queryable in Druid: {report.get('rows_queryable')} rows of Druid task "
            f"{report.get('druid_task_id')}",
            progress=1.0,
            druid_report=report,
            data_as_of=now,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        self._landed(task.datasource)

    async def _stop_cancelled_druid_task(self, task_id: str) -> None:
        """A task cancelled during its Druid phase: ask Druid to stop its task too (not when the
        lease was lost to another worker, which goes on tracking it)."""
        async with session_scope(self.sessions) as session:
            task = await session.get(IngestionTask, task_id)
        if task is None or task.status != TaskStatus.CANCELLED.value or not task.druid_task_id:
            return
        assert self.druid is not None
        try:
            await self.druid.client.shutdown_task(task.druid_task_id)
        except DruidError as exc:
            log.warning("task %s: Druid task %s not stopped: %s", task_id, task.druid_task_id, exc)

    async def _step(self, task_id: str, status: TaskStatus, message: str, **values: Any) -> None:
        await self._transition(task_id, status, message, **values)

    async def _wait_for_druid(self, task: IngestionTask, reason: str) -> None:
        """Release the task until Druid may be back; the backoff doubles up to its cap."""
        async with session_scope(self.sessions) as session:
            current = await session.get(IngestionTask, task.id)
            report = dict((current.druid_report if current else None) or {})
        waits = int(report.get("waits", 0)) + 1
        report.update(waits=waits, last_outage=reason)
        delay = min(
            self.settings.druid_poll_seconds * 2**waits, self.settings.druid_retry_max_seconds
        )
        await self._transition(
            task.id,
            TaskStatus.WAITING_FOR_DRUID,
            f"Druid is not available ({reason}); trying again in {delay:.0f} s. The data is valid "
            "and already served by the embedded engine.",
            druid_report=report,
            next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
            lease_owner=None,
            lease_expires_at=None,
        )

    async def _wait_for_storage(self, task_id: str) -> None:
        """The storage did not answer: the task goes back to the queue, claimed again once its
        backoff has passed (doubling up to STORAGE_RETRY_MAX_SECONDS). The wait is not a failed
        attempt; the upload is safe in storage, and processing starts over when it is back."""
        async with session_scope(self.sessions) as session:
            waits = await session.scalar(
                select(func.count())
                .select_from(TaskEvent)
                .where(TaskEvent.task_id == task_id, TaskEvent.message.startswith(STORAGE_WAIT))
            )
        delay = min(2.0 ** (waits or 0), self.settings.storage_retry_max_seconds)
        log.warning("task %s: the storage does not answer; retried in %.0f s", task_id, delay)
        await self._transition(
            task_id,
            TaskStatus.QUEUED,
            f"{STORAGE_WAIT}; the task tries again in {delay:.0f} s (nothing is lost).",
            next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
            attempts=IngestionTask.attempts - 1,
            progress=0.0,
            lease_owner=None,
            lease_expires_at=None,
        )

    async def _fail(self, task_id: str, failure: Failure, **values: Any) -> None:
        """Fail the task; `values` are further columns to set (report, counts, druid_report).
        The message is shown to users: no server path, credential or signature in it."""
        message, hint = scrub(failure.message), scrub(failure.hint)
        await self._transition(
            task_id,
            TaskStatus.FAILED,
            message,
            error={"code": failure.code, "message": message, "detail": hint},
            finished_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
            **values,
        )
        tracing.failed(failure.code)  # recorded (a cancel meanwhile raised LeaseLost instead)

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
        self._measure(status, values)
        if status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
            log.info("task %s %s: %s", task_id, status.value, scrub(message)[:300])

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
        self._measure(status, {})
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

    async def _ticks(self, task_id: str) -> None:
        """The rows the reader has read so far, written as each batch is read (at most every
        PROGRESS_TICK_SECONDS): live streams show them as progress ticks."""
        written = 0
        while True:
            await asyncio.sleep(PROGRESS_TICK_SECONDS)
            rows = self._progress.rows if self._progress is not None else 0
            if rows <= written:
                continue
            try:
                async with session_scope(self.sessions) as session:
                    await session.execute(
                        update(IngestionTask)
                        .where(IngestionTask.id == task_id, IngestionTask.lease_owner == self.owner)
                        .values(rows_read=rows, updated_at=utcnow())
                    )
                written = rows
            except SQLAlchemyError as exc:  # a tick is not worth failing the task for
                log.warning("task %s: progress not recorded: %s", task_id, type(exc).__name__)

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

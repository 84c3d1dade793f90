"""One claimed task, processed while its worker holds the lease: validate and store the dataset,
then (with DRUID_URL set) load it into Druid until queryable.

Every state change is a short transaction guarded by `lease_owner` (backend.worker.leases), so
a worker that lost its lease (cancelled task, or a lease taken over after a stall) can never
overwrite the task. Processing writes to keys derived from the task id, so running a task twice
leaves one copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend import druid_load as druid_phase
from backend import druid_rollup_load
from backend.analytics.catalog import DatasetFiles, load_versions
from backend.config import Settings
from backend.contracts.sales import SALES
from backend.contracts.schema import DatasetSchema
from backend.contracts.stored import known_schema
from backend.db import SessionMaker, session_scope, utcnow
from backend.druid.client import DruidClient, DruidUnavailable
from backend.errors import UNEXPECTED, StorageOutage
from backend.events import outbox
from backend.events.models import EventKind
from backend.logging_setup import TASK_ID
from backend.monitoring import tracing
from backend.monitoring.metrics import Registry
from backend.pipeline import normalize
from backend.pipeline.normalize import Failure
from backend.pipeline.sources.base import ReadError
from backend.redaction import redact
from backend.storage import ObjectStore
from backend.tasks import lifecycle, repository
from backend.tasks.lifecycle import LeaseLost
from backend.tasks.models import DRUID_STATUSES, STORED_STATUSES, IngestionTask, TaskStatus
from backend.units import format_count
from backend.worker import processing, setbacks
from backend.worker.leases import Holder
from backend.worker.outages import RETRY_LATER, disk_full_in, public_message
from backend.worker.storing import previewed, record_stored

__all__ = ["DataLanded", "DruidAccess", "TaskRunner"]

log = logging.getLogger(__name__)

# Called with the datasource's name right after new data for it is committed (cache invalidation).
DataLanded = Callable[[str], None]


@dataclass(frozen=True)
class DruidAccess:
    """What a worker needs to load into Druid: the client and the URL-signing key."""

    client: DruidClient
    signing_key: bytes


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
        self.holder = Holder(sessions, owner, lifecycle.Stages(metrics))

    async def run(self, task_id: str) -> None:
        token = TASK_ID.set(task_id)  # this task's log records say so
        self.holder.stages.reset()
        try:
            await self._run_task(task_id)
        finally:
            TASK_ID.reset(token)

    async def _run_task(self, task_id: str) -> None:
        helpers = [
            asyncio.create_task(self.holder.heartbeat(task_id, self.settings.worker_lease_seconds)),
            asyncio.create_task(self.holder.ticks(task_id)),
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
                await self.holder.keep_trace(task.id, kept)
            try:
                await self._run_traced(task, druid_only)
            except LeaseLost:
                span.set_attribute("ingest.stopped", "lease lost: cancelled or taken over")
                log.info("task %s: lease lost (cancelled or taken over); stopping", task_id)
                raise

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
            await self._fail(task_id, Failure("read_error", exc.message, exc.detail))
        except LeaseLost:
            raise
        except StorageOutage:
            await setbacks.wait_for_storage(self.holder, self.settings, task_id)
        except UNEXPECTED as exc:
            if (full := disk_full_in(exc)) is not None:
                await self._fail(task_id, Failure("disk_full", full.message, RETRY_LATER))
                return
            log.exception("task %s failed unexpectedly", task_id)
            message = f"processing stopped on an unexpected error: {public_message(exc)}"
            detail = "If a retry fails too, report it with this task id."
            await self._fail(task_id, Failure("internal_error", redact(message), detail))

    async def _start(self, task_id: str) -> IngestionTask | None:
        """The claimed task, its run recorded as started (or resumed); None when it is not this
        worker's, or has been tried too often."""
        async with session_scope(self.sessions) as session:
            # Locked until the start commits: a cancel meanwhile waits, then wins (unlocked, the
            # start would overwrite it and leave the task active without a lease).
            task = await repository.find(session, task_id, lock=True, events=False)
            if task is None or task.lease_owner != self.owner:
                return None
            if task.attempts > self.settings.worker_max_attempts:
                self._give_up(session, task)
                return None
            stages = self.holder.stages
            if TaskStatus(task.status) in DRUID_STATUSES and task.dataset_key is not None:
                message = f"Druid loading resumed by {self.owner}"
                lifecycle.move(session, task, TaskStatus(task.status), message, stages=stages)
                return task
            message = (
                f"resumed by {self.owner} (attempt {task.attempts}) after the previous worker's "
                "lease expired"
                if task.attempts > 1
                else f"processing started by {self.owner}"
            )
            lifecycle.move(
                session, task, TaskStatus.VALIDATING, message, stages=stages, progress=0.05
            )
            task.started_at = task.started_at or utcnow()
            return task

    def _give_up(self, session: AsyncSession, task: IngestionTask) -> None:
        lifecycle.move(
            session,
            task,
            TaskStatus.FAILED,
            f"gave up after {task.attempts - 1} attempts that ended without a result "
            "(the worker process died or stalled each time)",
            stages=self.holder.stages,
            error={
                "code": "worker_died",
                "message": "the worker stopped repeatedly while processing this file",
                "detail": "The file may be too large for the worker's memory. Retry, or "
                "split the file.",
            },
            finished_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
        )

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

    async def _run_key(self, task: IngestionTask) -> tuple[DatasetSchema | None, str]:
        """The datasource's schema so far, and the key this run stores its dataset under."""
        async with session_scope(self.sessions) as session:
            schema = await known_schema(session, task.datasource)
            runs = await repository.count_events(session, task.id, status=TaskStatus.VALIDATING)
        # Each run records one "validating" event as it starts. After the first, an earlier run
        # may still be winding down (cancelled then retried, or its lease taken over): this run
        # stores under a key of its own, so that the earlier one's clean-up cannot remove it.
        later_run = uuid.uuid4().hex[:12] if runs > 1 else None
        return schema, processing.dataset_key(task.datasource, task.id, later_run)

    async def _process(self, task: IngestionTask) -> None:
        schema, key = await self._run_key(task)
        self.holder.progress = normalize.Progress()
        loaded = await self._loaded(task, schema)
        with tempfile.TemporaryDirectory(prefix=f"ingest-{task.id}-") as tmp:
            limits = processing.input_limits(self.settings)
            done = await processing.process(
                self.store,
                task,
                schema,
                Path(tmp),
                self.holder.progress,
                loaded,
                limits,
                sessions=self.sessions,
            )
            outcome = done.outcome
            if outcome.failure is not None or outcome.dataset is None:
                failure = outcome.failure or Failure(
                    "internal_error", "no dataset was produced", "If a retry fails too, report it."
                )
                await self._fail(task.id, failure, report=done.report, **done.counts)
                return
            if task.dry_run:
                await previewed(self.holder, task.id, done.report, done.counts)
                return
            spec = processing.druid_spec(self.settings, self.store, task, outcome, key)
            await self.holder.move(
                task.id,
                TaskStatus.LOADING,
                f"{done.counts['rows_valid']} valid rows of {done.counts['rows_read']}; storing the dataset",
                progress=0.7,
                report=done.report,
                druid_spec=spec.spec if spec else None,
                replace_interval=spec.replace_interval if spec else None,
                **done.counts,
            )
            await self._store(task, outcome.dataset, key, Path(tmp))
        if self.settings.worker_debug_pause_seconds:
            await asyncio.sleep(self.settings.worker_debug_pause_seconds)
        # The first upload fixes the datasource's contract (and an inferred one's columns); a
        # later one may evolve them (evolve=...).
        evolved = outcome.schema is not None and bool(outcome.schema.changes)
        new_schema = outcome.schema if schema is None or evolved else None
        await self._stored(task, done.counts, new_schema, key, spec.spec if spec else None)

    async def _store(self, task: IngestionTask, dataset: Path, key: str, tmp: Path) -> None:
        with tracing.span("store dataset", **{"ingest.bytes": dataset.stat().st_size}):
            await self.store.put_file(key, dataset)
            if self.druid is not None:
                await druid_phase.write_copy(self.settings, self.store, task, dataset, tmp)

    async def _stored(
        self,
        task: IngestionTask,
        counts: dict[str, Any],
        new_schema: DatasetSchema | None,
        key: str,
        spec: dict[str, Any] | None,
    ) -> None:
        """Record the stored dataset: the task succeeds, or goes on into Druid."""
        status = TaskStatus.SUCCEEDED if self.druid is None else TaskStatus.DRUID_SUBMITTING
        await record_stored(
            self.holder, self.settings, self.store, task, status, counts, new_schema, key
        )
        self._landed(task.datasource)
        if self.druid is None:
            return
        task.dataset_key = key
        task.druid_spec = spec
        task.druid_datasource = druid_phase.druid_datasource(self.settings, task.datasource)
        await self._load_into_druid(task)

    def _landed(self, datasource: str) -> None:
        if self.on_data_landed is not None:
            # Called before this coroutine awaits again, so no query sees the new data
            # committed while the old results are still cached.
            self.on_data_landed(datasource)

    async def _load_into_druid(self, task: IngestionTask) -> None:
        assert self.druid is not None, "a Druid phase needs DRUID_URL"
        phase = druid_phase.DruidPhase(
            self.settings, self.store, self.druid.client, self.druid.signing_key, self.holder.move
        )
        try:
            with tempfile.TemporaryDirectory(prefix=f"druid-{task.id}-") as tmp:
                report = await phase.run(task, Path(tmp))
        except LeaseLost:
            await setbacks.stop_cancelled_druid_task(self.holder, self.druid.client, task.id)
            raise
        except DruidUnavailable as exc:
            await setbacks.wait_for_druid(self.holder, self.settings, task.id, exc.message)
            return
        except StorageOutage:
            reason = "the file storage cannot be reached"
            await setbacks.wait_for_druid(self.holder, self.settings, task.id, reason)
            return
        except druid_phase.DruidFailed as exc:
            await self._fail(
                task.id,
                Failure("druid_failed", exc.message, exc.detail),
                druid_report=exc.report or task.druid_report,
            )
            return
        now = utcnow()

        async def loaded(session: AsyncSession) -> None:
            outbox.emit(
                session,
                EventKind.DRUID_LOADED,
                subject=task.id,
                datasource=task.datasource,
                payload={
                    "task_id": task.id,
                    "datasource": task.datasource,
                    "druid_datasource": task.druid_datasource,
                    "rows_queryable": report.get("rows_queryable"),
                },
            )

        await self.holder.move(
            task.id,
            TaskStatus.SUCCEEDED,
            f"queryable in Druid: {format_count(int(report.get('rows_queryable') or 0), 'row')}"
            " of Druid task "
            f"{report.get('druid_task_id')}",
            also=loaded,
            progress=1.0,
            druid_report=report,
            data_as_of=now,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        self._landed(task.datasource)
        # Queryable and succeeded: only now the rollup's Druid task, with the cores to itself.
        task.druid_report, task.druid_rollup = report, None
        with tracing.span("Druid rollup until queryable"):
            await self.rollups().load(task)

    def rollups(self) -> druid_rollup_load.RollupLoad:
        assert self.druid is not None
        return druid_rollup_load.RollupLoad(
            self.settings,
            self.sessions,
            self.store,
            self.druid.client,
            self.druid.signing_key,
            self.on_data_landed,
        )

    async def _fail(self, task_id: str, failure: Failure, **values: Any) -> None:
        await setbacks.fail(self.holder, task_id, failure, **values)

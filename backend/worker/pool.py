"""Durable background workers: claim queued tasks from the database with a lease, process them
(backend.worker.runner), and pick up tasks whose worker died once its lease has expired.

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
import uuid
from collections.abc import Sequence

from sqlalchemy import delete

from backend import druid_rollup_load
from backend.config import Settings
from backend.db import SessionMaker, session_scope, utcnow
from backend.errors import UNEXPECTED, as_app_error
from backend.monitoring.metrics import Registry
from backend.storage import ObjectStore
from backend.tasks.models import WorkerHeartbeat
from backend.tasks.repository import claim_next
from backend.worker import janitor
from backend.worker.jobs import Job, JobSource
from backend.worker.runner import DataLanded, DruidAccess, TaskRunner

log = logging.getLogger(__name__)


class WorkerPool:
    """N asyncio workers in this process, polling the database and woken early on new uploads."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionMaker,
        store: ObjectStore,
        on_data_landed: DataLanded | None = None,
        druid: DruidAccess | None = None,
        *,
        metrics: Registry | None = None,
        sources: Sequence[JobSource] = (),
        chores: Sequence[janitor.Chore] = (),
    ) -> None:
        self.settings = settings
        self.sources = list(sources)  # work besides tasks (actions' runs)
        self.chores = list(chores)  # the janitor's other clean-up (expired upload sessions)
        self._turn = 0  # which source a slot asks first, changed each time
        self.sessions = sessions
        self.store = store
        self.on_data_landed = on_data_landed
        self.druid = druid
        self.metrics = metrics
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._slots: list[asyncio.Task[None]] = []  # the loops that take tasks
        self._jobs = 0  # slots running a job of the other sources now

    @property
    def job_slots(self) -> int:
        """Slots that may run other sources' jobs at once (ACTIONS_WORKER_SLOTS; 0: all but
        one, so uploads always keep a slot when there are two or more)."""
        configured = getattr(self.settings, "actions_worker_slots", 0)
        return configured or max(1, self.settings.worker_concurrency - 1)

    def live_slots(self) -> int:
        """Slot loops still running: the heartbeat reports these, not the configured number."""
        return sum(1 for slot in self._slots if not slot.done())

    def _slot_ended(self, slot: asyncio.Task[None]) -> None:
        if self._stopping.is_set() or slot.cancelled():
            return
        log.error(
            "worker slot %s ended unexpectedly (%s); %d of %d slots remain",
            slot.get_name(),
            type(slot.exception()).__name__ if slot.exception() else "returned",
            self.live_slots(),
            len(self._slots),
        )

    async def start(self) -> None:
        """Starts the loops once the first heartbeat is recorded: health never reports a pool
        that has just started as missing."""
        started = utcnow()
        await self._record_beat(started)
        for number in range(self.settings.worker_concurrency):
            owner = f"{self.name}/{number}"
            slot = asyncio.create_task(self._loop(owner), name=owner)
            slot.add_done_callback(self._slot_ended)
            self._slots.append(slot)
            self._loops.append(slot)
        self._loops.append(asyncio.create_task(self._beat(started)))
        self._loops.append(asyncio.create_task(self._janitor()))
        if self.sources:
            self._loops.append(asyncio.create_task(self._ticks()))
        if self.druid is not None:  # rollups a stopped worker left unrecorded
            sweep = druid_rollup_load.Sweep(self._runner(f"{self.name}/rollups").rollups())
            self._loops.append(asyncio.create_task(sweep.forever(self._stopping)))

    async def _ticks(self) -> None:
        """Every ACTIONS_TICK_SECONDS, each source's tick (due schedules, new events)."""
        interval = self.settings.actions_tick_seconds
        while not self._stopping.is_set():
            for source in self.sources:
                try:
                    await source.tick()
                except UNEXPECTED as exc:
                    _unexpected(exc, f"the {source.name} tick did not run; it runs again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)

    async def _janitor(self) -> None:
        """Now and then, remove what crashed uploads left in storage, and old notifications."""
        interval = self.settings.janitor_interval_seconds
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), min(60.0, interval))
                return
            try:
                await janitor.remove_orphans(
                    self.sessions, self.store, self.settings.staged_upload_max_age_seconds
                )
                await janitor.remove_previews(
                    self.sessions, self.store, self.settings.preview_keep_seconds
                )
            except Exception:
                log.exception("the storage janitor failed; it runs again later")
            await janitor.run_chores(self.chores)
            try:
                await janitor.purge_notifications(
                    self.sessions, self.settings.notifications_keep_days
                )
            except Exception:
                log.exception("purging old notifications failed; it runs again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval)

    async def _record_beat(self, started: dt.datetime) -> None:
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
                    beat.concurrency = self.live_slots()
        except Exception:
            log.exception("worker heartbeat could not be recorded")

    async def _beat(self, started: dt.datetime) -> None:
        """Record that this process's workers are alive, every poll interval (at most 5 s)."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), min(5.0, self.settings.worker_poll_seconds * 5)
                )
                return
            await self._record_beat(started)

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops.clear()
        self._slots.clear()
        with contextlib.suppress(Exception):  # a clean stop is not a dead worker
            async with session_scope(self.sessions) as session:
                await session.execute(
                    delete(WorkerHeartbeat).where(WorkerHeartbeat.worker == self.name)
                )

    def _runner(self, owner: str) -> TaskRunner:
        return TaskRunner(
            self.settings,
            self.sessions,
            self.store,
            owner,
            self.on_data_landed,
            self.druid,
            metrics=self.metrics,
        )

    async def _loop(self, owner: str) -> None:
        runner = self._runner(owner)
        while not self._stopping.is_set():
            try:
                task_id = await self._claim(owner)
            except UNEXPECTED as exc:
                if as_app_error(exc) is None:
                    log.exception("worker %s could not claim a task; retrying", owner)
                else:  # the database is down or busy: said once a poll, without a traceback
                    reason = type(exc).__name__
                    log.warning("worker %s: no task claimed (%s); retrying", owner, reason)
                task_id = None
            if task_id is None:
                job = await self._reserve_job(owner)
                if job is None:
                    await self._idle()
                else:
                    await self._run_job(owner, job)
                continue
            if self.metrics is not None:
                self.metrics.worker_slots.inc()
            try:
                await runner.run(task_id)
            except UNEXPECTED:
                # The lease runs out and the task is claimed again; nothing is lost.
                log.exception(
                    "worker %s stopped on task %s; it will be picked up again", owner, task_id
                )
            finally:
                if self.metrics is not None:
                    self.metrics.worker_slots.dec()

    async def _reserve_job(self, owner: str) -> Job | None:
        """A job, when fewer than `job_slots` slots run one: the slot is counted before the
        claim (two slots never both take the last one), and given back when none came."""
        if self._jobs >= self.job_slots:
            return None
        self._jobs += 1
        job = None
        try:
            job = await self._claim_job(owner)
        finally:
            if job is None:
                self._jobs -= 1
        return job

    async def _claim_job(self, owner: str) -> Job | None:
        """A job from the other sources, asked in turn (a different one first each time, so
        that a flood of one kind of work starves none)."""
        count = len(self.sources)
        self._turn += 1
        for index in range(count):
            source = self.sources[(self._turn + index) % count]
            try:
                job = await source.claim(owner)
            except UNEXPECTED as exc:
                _unexpected(exc, f"worker {owner}: no {source.name} claimed; retrying")
                continue
            if job is not None:
                return job
        return None

    async def _run_job(self, owner: str, job: Job) -> None:
        if self.metrics is not None:
            self.metrics.worker_slots.inc()
        try:
            await job.run()
        except UNEXPECTED:
            log.exception("worker %s stopped on a job; it will be picked up again", owner)
        finally:
            self._jobs -= 1
            if self.metrics is not None:
                self.metrics.worker_slots.dec()

    async def _claim(self, owner: str) -> str | None:
        async with session_scope(self.sessions) as session:
            return await claim_next(session, owner, self.settings.worker_lease_seconds)

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.worker_poll_seconds)
        self._wake.clear()


def _unexpected(exc: BaseException, said: str) -> None:
    """A bug is logged with its traceback; the database down or busy is said in a line."""
    if as_app_error(exc) is None:
        log.error("%s", said, exc_info=exc)
    else:
        log.warning("%s (%s)", said, type(exc).__name__)

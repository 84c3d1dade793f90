"""Loading a task's rolled-up Druid datasource (backend/druid/rollup.py) after its upload has
succeeded, so the raw rows become queryable with Druid's cores to themselves.

Once the raw rows are queryable the task succeeds; then the same worker job submits the rollup's
Druid task (its id planned in the report before the raw one was submitted), waits until its rows
are served and records what it holds on the task (druid_rollup), after which the Druid engine may
answer from it. The wait is bounded by the raw task's own indexing time (report rollup
wait_seconds): past it, or when Druid fails the task, the report says so in a sentence and
dashboards keep reading the raw rows, which are exact. Druid or the storage unreachable meanwhile:
nothing is recorded, and `Sweep` finishes it later, as it does for a worker that died between the
upload's success and the record: on startup and every SWEEP_SECONDS, a few such tasks at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import SessionMaker, session_scope, utcnow
from backend.druid import rollup as rolled
from backend.druid.client import DruidClient, DruidRequestError, DruidUnavailable, TaskState
from backend.druid.sql import quote
from backend.druid_load import DruidFailed, DruidPhase, spec_with_input
from backend.errors import StorageOutage
from backend.storage import ObjectStore
from backend.tasks import repository
from backend.tasks.models import IngestionTask, TaskStatus

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10.0
SWEEP_LIMIT = 3  # tasks finished per sweep
SWEEP_DAYS = 7  # older unrecorded rollups are left alone (dashboards read the raw rows)
# Raised inside this module for Druid's and the storage's outages: left for a later sweep.
OUTAGES = (DruidUnavailable, StorageOutage)


def pending(task: IngestionTask) -> dict[str, Any] | None:
    """The task's planned rollup when it is neither recorded nor said to be missing."""
    report = task.druid_report or {}
    planned = report.get("rollup")
    if task.druid_rollup is not None or not isinstance(planned, dict) or rolled.MISSING in report:
        return None
    return planned


async def loading(session: AsyncSession, datasource: str) -> list[str]:
    """The Druid task ids of the datasource's rollups still loading (planned, not recorded)."""
    rows = await session.scalars(
        select(IngestionTask).where(
            IngestionTask.datasource == datasource,
            IngestionTask.status == TaskStatus.SUCCEEDED.value,
            IngestionTask.druid_rollup.is_(None),
            IngestionTask.druid_task_id.is_not(None),
        )
    )
    return [str(planned["task_id"]) for t in rows if (planned := pending(t)) is not None]


async def stop(client: DruidClient, rollup_ids: list[str], timeout: float = 60.0) -> None:
    """Stop these rollup tasks and wait (bounded) until Druid says each has ended, so that none
    publishes rows after its datasource is dropped."""
    deadline = time.monotonic() + timeout
    for rollup_id in rollup_ids:
        with contextlib.suppress(DruidRequestError):  # Druid refused: nothing left to stop
            await client.shutdown_task(rollup_id)
            while time.monotonic() < deadline:
                state = await client.task_state(rollup_id)
                if state is None or state.finished:
                    break
                await asyncio.sleep(0.5)


@dataclass
class RollupLoad:
    settings: Settings
    sessions: SessionMaker
    store: ObjectStore
    client: DruidClient
    signing_key: bytes
    landed: Callable[[str], None] | None = None
    clock: Callable[[], float] = time.monotonic

    def _phase(self) -> DruidPhase:
        async def no_step(*_: Any, **__: Any) -> None:
            raise AssertionError("the rollup moves no task")

        return DruidPhase(self.settings, self.store, self.client, self.signing_key, no_step)

    async def load(self, task: IngestionTask) -> None:
        """Submit the succeeded task's rollup, wait until it is served (bounded), record it."""
        planned = pending(task)
        if planned is None:
            return
        rollup_id = str(planned["task_id"])
        bound = float(planned.get("wait_seconds") or self.settings.druid_load_timeout_seconds)
        deadline = self.clock() + bound
        try:
            await self.submit(task, planned)
            while True:
                state = await self.state(rollup_id)
                counted = await self.served(task, planned) if state.status == "SUCCESS" else None
                if counted is not None:
                    await self.record(task, counted)
                    return
                if self.clock() > deadline:
                    await self.give_up(task, f"it was not queryable within {bound:.0f} s")
                    return
                await asyncio.sleep(self.settings.druid_poll_seconds)
        except DruidFailed as exc:
            await self.say_missing(task, exc.message)
        except OUTAGES as exc:
            log.info("task %s: rollup left for a later sweep (%s)", task.id, exc)

    async def submit(self, task: IngestionTask, planned: dict[str, Any]) -> None:
        if task.druid_spec is None:
            raise DruidFailed("the task has no Druid spec", "")
        rollup_id = str(planned["task_id"])
        async with session_scope(self.sessions) as session:
            row = await session.get(IngestionTask, task.id)
            if row is None or pending(row) is None:  # dropped meanwhile, or recorded elsewhere
                raise DruidFailed("its upload is no longer waiting for it", "")
        with tempfile.TemporaryDirectory(prefix=f"rollup-{task.id}-") as tmp:
            location = await self._phase().location(task, Path(tmp))
        raw = spec_with_input(task.druid_spec, location, rollup_id)
        spec = rolled.rollup_spec(raw, rolled.Choice.from_dict(planned), rollup_id)
        try:
            await self.client.submit(spec)
        except DruidRequestError as exc:
            raise DruidFailed(f"Druid refused its spec: {exc.message}", "") from None

    async def state(self, rollup_id: str) -> TaskState:
        state = await self.client.task_state(rollup_id)
        if state is None:
            raise DruidFailed(f"Druid lost its task {rollup_id}", "")
        if state.status == "FAILED":
            raise DruidFailed(f"its Druid task {rollup_id} failed: {state.error}", "")
        return state

    async def served(self, task: IngestionTask, planned: dict[str, Any]) -> int | None:
        """The task's rolled-up rows count (in raw rows) when all are served; None if not yet."""
        assert task.druid_spec is not None and task.druid_datasource is not None
        table = rolled.rollup_datasource(task.druid_datasource)
        spec = rolled.rollup_spec(task.druid_spec, rolled.Choice.from_dict(planned))
        interval = spec["spec"]["dataSchema"]["granularitySpec"]["intervals"][0]
        percent = await self.client.load_percent(table, interval)
        if percent is None or percent < 100.0:
            return None
        phase = self._phase()
        counted = await phase.count(table, task.id, f"SUM({quote(rolled.ROWS)})")
        expected = (task.druid_report or {}).get("rows_queryable")
        if expected is not None and counted < int(expected):
            return None
        return None if await phase.unlisted(table, spec) else counted

    async def give_up(self, task: IngestionTask, reason: str) -> None:
        """Stop the rollup's Druid task (its cores go to the next upload) and say so."""
        with contextlib.suppress(DruidRequestError, *OUTAGES):
            await self.client.shutdown_task(str((task.druid_report or {})["rollup"]["task_id"]))
        await self.say_missing(task, reason)

    async def record(self, task: IngestionTask, counted: int) -> None:
        await self._write(task, counted=counted)

    async def say_missing(self, task: IngestionTask, reason: str) -> None:
        log.info("task %s: rolled-up copy missing: %s", task.id, reason)
        await self._write(task, sentence=rolled.missing(reason))

    async def _write(
        self, task: IngestionTask, *, counted: int | None = None, sentence: str | None = None
    ) -> None:
        """Record the rollup (or why it is missing) on the task, unless the task has moved on
        meanwhile (retried, or recorded by another worker's sweep)."""
        async with session_scope(self.sessions) as session:
            row = await repository.find(session, task.id, lock=True, events=False)
            if row is None or row.status != TaskStatus.SUCCEEDED.value:
                return
            planned, mine = pending(row), pending(task)
            if planned is None or mine is None or planned["task_id"] != mine["task_id"]:
                return  # a retry planned another rollup
            report = dict(row.druid_report or {})
            if sentence is not None:
                report[rolled.MISSING] = sentence
            else:
                report["rollup"] = {**planned, "rows_queryable": counted}
                row.druid_rollup = rolled.Choice.from_dict(planned).to_json()
            row.druid_report = report
        if counted is not None and self.landed is not None:
            self.landed(task.datasource)  # the engine may answer from the rollup from now on


@dataclass
class Sweep:
    """Finishes the rollups of succeeded tasks whose worker stopped before recording them."""

    loader: RollupLoad

    async def once(self, limit: int = SWEEP_LIMIT) -> int:
        """Looks at up to `limit` unrecorded rollups; returns how many it recorded or gave up."""
        async with session_scope(self.loader.sessions) as session:
            since = utcnow() - dt.timedelta(days=SWEEP_DAYS)
            rows = await session.scalars(
                select(IngestionTask)
                .where(
                    IngestionTask.status == TaskStatus.SUCCEEDED.value,
                    IngestionTask.druid_rollup.is_(None),
                    IngestionTask.druid_task_id.is_not(None),
                    IngestionTask.finished_at > since,
                )
                # Newest first: the pending ones are recent; those said missing stay unrecorded.
                .order_by(IngestionTask.finished_at.desc())
                .limit(200)
            )
            tasks = [t for t in rows if pending(t) is not None][:limit]
        done = 0
        for task in tasks:
            try:
                done += await self._finish(task)
            except OUTAGES as exc:
                log.info("rollup sweep stopped: %s", exc)
                break
        return done

    async def _finish(self, task: IngestionTask) -> int:
        loader, planned = self.loader, pending(task)
        assert planned is not None and task.finished_at is not None
        bound = float(planned.get("wait_seconds") or loader.settings.druid_load_timeout_seconds)
        late = utcnow() > task.finished_at + dt.timedelta(seconds=bound)
        try:
            state = await loader.client.task_state(str(planned["task_id"]))
            if state is None and not late:  # its worker stopped before submitting it
                await loader.submit(task, planned)
                return 0
            state = await loader.state(str(planned["task_id"]))
            counted = await loader.served(task, planned) if state.status == "SUCCESS" else None
            if counted is not None:
                await loader.record(task, counted)
                return 1
        except DruidFailed as exc:
            await loader.say_missing(task, exc.message)
            return 1
        if not late:
            return 0  # still loading: looked at again next sweep
        await loader.give_up(task, f"it was not queryable within {bound:.0f} s")
        return 1

    async def forever(self, stopping: asyncio.Event) -> None:
        """Now (a worker just started), then every SWEEP_SECONDS until `stopping` is set."""
        while not stopping.is_set():
            try:
                await self.once()
            except Exception:
                log.exception("the rollup sweep failed; it runs again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), SWEEP_SECONDS)

"""Runs are claimed as tasks are: one worker gets each run, an expired lease is taken over, and
a run whose workers keep dying is given up."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from backend.actions import lifecycle, scheduler, service
from backend.actions.kinds import Outcome, RunContext, registry
from backend.actions.models import ActionRun, RunStatus
from backend.actions.runs import claim_next_run
from backend.actions.schemas import ActionPatch
from backend.actions.worker import ActionRuns, RunJob
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.ingestion import acceptance
from backend.ingestion.intake import Intake
from backend.runtime import Runtime
from backend.tasks.lifecycle import LeaseLost
from backend.tasks.models import IngestionTask
from tests.actions.core.conftest import create, fast_settings, person, started, webhook_in
from tests.conftest import Backend
from tests.factories import sales_csv

EVERY_MINUTE = [{"type": "schedule", "cron": "* * * * *", "timezone": "UTC"}]
MINUTE = dt.timedelta(minutes=1)


async def queued_run(runtime: Runtime) -> str:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    async with session_scope(runtime.sessions) as session:
        run = await service.execute(session, owner, action.id)
    return run.id


async def claim(runtime: Runtime, owner: str, lease: float = 30) -> str | None:
    async with session_scope(runtime.sessions) as session:
        return await claim_next_run(session, owner, lease)


async def load(runtime: Runtime, run_id: str) -> ActionRun:
    async with session_scope(runtime.sessions) as session:
        run = await session.get(ActionRun, run_id)
        assert run is not None
        return run


async def expire_lease(runtime: Runtime, run_id: str, **values: object) -> None:
    async with session_scope(runtime.sessions) as session:
        await session.execute(
            update(ActionRun)
            .where(ActionRun.id == run_id)
            .values(lease_expires_at=utcnow() - dt.timedelta(seconds=1), **values)
        )


async def test_two_workers_claiming_at_once_get_the_run_once(runtime: Runtime) -> None:
    run_id = await queued_run(runtime)

    claimed = await asyncio.gather(*(claim(runtime, f"w{i}") for i in range(6)))

    assert [c for c in claimed if c is not None] == [run_id]
    run = await load(runtime, run_id)
    assert run.status == "running" and run.attempts == 1
    assert await claim(runtime, "late") is None


async def test_an_expired_lease_is_taken_over_and_the_old_worker_is_shut_out(
    runtime: Runtime,
) -> None:
    run_id = await queued_run(runtime)
    assert await claim(runtime, "first") == run_id
    assert await claim(runtime, "second") is None  # the lease holds

    await expire_lease(runtime, run_id)
    assert await claim(runtime, "second") == run_id

    run = await load(runtime, run_id)
    assert (run.lease_owner, run.attempts, run.status) == ("second", 2, "running")
    with pytest.raises(LeaseLost):
        async with session_scope(runtime.sessions) as session:
            await lifecycle.advance_run(session, run_id, RunStatus.SUCCEEDED, owner="first")
    assert (await load(runtime, run_id)).status == "running"


async def test_a_run_whose_workers_keep_dying_is_given_up(runtime: Runtime) -> None:
    run_id = await queued_run(runtime)
    assert await claim(runtime, "first") == run_id
    attempts = runtime.settings.worker_max_attempts
    await expire_lease(runtime, run_id, attempts=attempts)
    assert await claim(runtime, "last") == run_id
    assert runtime.action_services is not None and runtime.cipher is not None
    source = ActionRuns(runtime.action_services, runtime.cipher)

    await RunJob(source, run_id, "last").run()

    run = await load(runtime, run_id)
    assert run.status == "failed" and run.error is not None
    assert run.error["code"] == "worker_died"
    assert f"{attempts} times" in run.error["message"]
    assert run.lease_owner is None and run.finished_at is not None


async def _queued(runtime: Runtime, action_id: str, key: str) -> str:
    async with session_scope(runtime.sessions) as session:
        run = lifecycle.create_run(session, action_id, "schedule", key)
    return run.id


async def test_an_action_runs_one_run_at_a_time(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    busy, _ = await create(runtime, owner, webhook_in())
    other, _ = await create(runtime, owner, webhook_in())
    first = await _queued(runtime, busy.id, "schedule:1")
    await _queued(runtime, busy.id, "schedule:2")
    await asyncio.sleep(0.01)  # the other action's run is the newest
    third = await _queued(runtime, other.id, "schedule:3")

    assert await claim(runtime, "a") == first
    assert await claim(runtime, "b") == third  # not busy's second run while its first runs
    assert await claim(runtime, "c") is None


async def test_a_disabled_actions_queued_run_is_not_claimed(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in(triggers=EVERY_MINUTE))
    due = action.enabled_at.replace(second=0, microsecond=0) + MINUTE
    async with session_scope(runtime.sessions) as session:
        await scheduler.tick(session, due + dt.timedelta(seconds=1))
    assert runtime.cipher is not None
    async with session_scope(runtime.sessions) as session:
        await service.update(session, owner, action.id, ActionPatch(enabled=False), runtime.cipher)

    assert await claim(runtime, "reviewer/0") is None

    async with session_scope(runtime.sessions) as session:
        (run,) = await session.scalars(select(ActionRun).where(ActionRun.action_id == action.id))
    assert run.status == "failed" and run.error is not None
    assert run.error["message"] == "The action was disabled before this run started."


async def test_a_run_no_longer_held_is_cancelled(runtime: Runtime, registered: list[str]) -> None:
    started = asyncio.Event()

    async def forever(context: RunContext) -> Outcome:
        started.set()
        await asyncio.sleep(3600)  # a download that trickles for an hour
        return Outcome("succeeded")

    registry.register("webhook", forever)
    registered.append("webhook")
    run_id = await queued_run(runtime)
    assert await claim(runtime, "slot", lease=0.3) == run_id
    assert runtime.action_services is not None and runtime.cipher is not None
    short = runtime.settings.model_copy(update={"worker_lease_seconds": 0.3})
    services = dataclasses.replace(runtime.action_services, settings=short)
    job = asyncio.create_task(RunJob(ActionRuns(services, runtime.cipher), run_id, "slot").run())
    try:
        await asyncio.wait_for(started.wait(), 10)
        async with session_scope(runtime.sessions) as session:  # taken over, or deleted
            await session.execute(
                update(ActionRun).where(ActionRun.id == run_id).values(lease_owner="another")
            )

        await asyncio.wait_for(job, 5)  # stopped within a lease, not after the hour
    finally:
        job.cancel()


async def test_actions_leave_a_slot_for_uploads(backend: Backend, registered: list[str]) -> None:
    release = asyncio.Event()

    async def slow(context: RunContext) -> Outcome:
        await release.wait()  # an import from a server that trickles
        return Outcome("succeeded")

    registry.register("webhook", slow)
    registered.append("webhook")
    runtime = await started(fast_settings(backend, worker_concurrency=2), workers=True)
    try:
        owner = await person(runtime, Role.UPLOADER)
        for _ in range(3):
            action, _ = await create(runtime, owner, webhook_in())
            async with session_scope(runtime.sessions) as session:
                await service.execute(session, owner, action.id)
        runtime.wake_workers()
        await asyncio.sleep(0.5)  # the slots take what they may
        async with session_scope(runtime.sessions) as session:
            staged = await Intake(runtime.store, 10**8).stage(_chunks(sales_csv(rows=5)), "s.csv")
            task_id = (await acceptance.accept(session, staged, "sales")).task.id
        runtime.wake_workers()

        deadline = time.monotonic() + 10
        while await _task_status(runtime, task_id) == "queued":
            assert time.monotonic() < deadline, "the upload waited behind the actions' runs"
            await asyncio.sleep(0.05)
        running = await _statuses(runtime)
        assert running.count("running") == 1  # one slot of two for actions
    finally:
        release.set()
        await runtime.stop()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _task_status(runtime: Runtime, task_id: str) -> str:
    async with session_scope(runtime.sessions) as session:
        task = await session.get(IngestionTask, task_id)
    assert task is not None
    return str(task.status)


async def _statuses(runtime: Runtime) -> list[str]:
    async with session_scope(runtime.sessions) as session:
        return [str(status) for status in await session.scalars(select(ActionRun.status))]

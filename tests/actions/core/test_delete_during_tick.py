"""An action deleted while a worker's tick makes its scheduled run, or while the hourly purge
removes its old runs: both go through, neither waits for the other's second lock (a deadlock
the database ends by failing one: the user's delete answered "busy", or every schedule of the
tick put off). PostgreSQL only: its row locks are what they take."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from backend.actions import lifecycle, runs, scheduler, service
from backend.actions.models import Action, ActionDelivery, ActionRun, RunStatus
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.runtime import Runtime
from tests.actions.core.conftest import create, person, webhook_in
from tests.actions.core.test_scheduler import next_minute, scheduled_action
from tests.locks import Held, waiting_on_a_lock

pytestmark = pytest.mark.parametrize("backend", ["postgres_s3"], indirect=True)


async def delete(runtime: Runtime, action_id: str) -> None:
    admin = await person(runtime, Role.ADMIN)
    async with session_scope(runtime.sessions) as session:
        await service.delete(session, admin, action_id)


async def gone(runtime: Runtime, action_id: str) -> bool:
    async with session_scope(runtime.sessions) as session:
        left = await session.scalar(
            select(func.count()).select_from(ActionRun).where(ActionRun.action_id == action_id)
        )
        return await session.get(Action, action_id) is None and left == 0


TWO_SCHEDULES = [
    {"type": "schedule", "cron": "* * * * *", "timezone": zone} for zone in ("UTC", "Asia/Tokyo")
]


@pytest.mark.parametrize("schedules", [1, 2])
async def test_a_delete_during_the_tick_that_schedules_the_action(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, schedules: int
) -> None:
    if schedules == 1:
        action = await scheduled_action(runtime)
    else:  # the tick marks the second after the first's run holds the action's key
        owner = await person(runtime, Role.UPLOADER)
        action, _ = await create(runtime, owner, webhook_in(triggers=TWO_SCHEDULES))
    held = Held(monkeypatch, scheduler, "insert_run", before=False)  # its run made, not committed

    async def tick() -> int:
        async with session_scope(runtime.sessions) as session:
            return await scheduler.tick(session, next_minute(action.enabled_at))

    ticking = asyncio.create_task(tick())
    await held.reached()
    deleting = asyncio.create_task(delete(runtime, action.id))
    await waiting_on_a_lock(runtime.sessions)
    held.go.set()
    made, _ = await asyncio.wait_for(asyncio.gather(ticking, deleting), 30)

    assert made == 1  # the tick's run went, with its action
    assert await gone(runtime, action.id)


async def _old_runs(runtime: Runtime, action_id: str, count: int) -> None:
    """`count` runs ended 40 days ago, a delivery each, and one run of today."""
    old = utcnow() - dt.timedelta(days=40)
    async with session_scope(runtime.sessions) as session:
        for number in range(count + 1):
            values = lifecycle.queued_values(action_id, "manual", f"manual:{number}")
            created = old + dt.timedelta(minutes=number) if number < count else utcnow()
            ended = RunStatus.SUCCEEDED.value
            session.add(ActionRun(**{**values, "status": ended, "created_at": created}))
            await session.flush()
            session.add(
                ActionDelivery(
                    run_id=values["id"],
                    attempt=1,
                    at=created,
                    channel="http",
                    target="https://example.com",
                )
            )


async def test_a_purge_during_a_delete_skips_the_runs_it_holds(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    deleted, kept = await scheduled_action(runtime), await scheduled_action(runtime)
    for action in (deleted, kept):
        await _old_runs(runtime, action.id, 3)
    held = Held(monkeypatch, runs, "delete_of", before=True)  # the delete holds the runs

    async def purge() -> None:
        async with session_scope(runtime.sessions) as session:
            await scheduler.purge(session, utcnow(), 30)

    deleting = asyncio.create_task(delete(runtime, deleted.id))
    await held.reached()
    purging = asyncio.create_task(purge())
    finished, _ = await asyncio.wait({purging}, timeout=10)
    held.go.set()
    await asyncio.wait_for(asyncio.gather(deleting, purging), 30)

    assert finished, "the purge waited for the delete"
    assert await gone(runtime, deleted.id)
    async with session_scope(runtime.sessions) as session:
        left = await session.scalars(select(ActionRun).where(ActionRun.action_id == kept.id))
        assert [r.trigger_key for r in left] == ["manual:3"]  # the other action's old runs went

"""Schedules run once per due time, whoever ticks and however often; a schedule missed while
everything was down runs once; enabling an action does not run what it missed."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, update

from backend.actions import lifecycle, scheduler, service
from backend.actions.models import Action, ActionRun, RunStatus
from backend.actions.schemas import ActionPatch
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.errors import InvalidInput
from backend.runtime import Runtime
from tests.actions.core.conftest import create, person, webhook_in

EVERY_MINUTE = [{"type": "schedule", "cron": "* * * * *", "timezone": "UTC"}]
MINUTE = dt.timedelta(minutes=1)


async def scheduled_action(runtime: Runtime, *, enabled: bool = True) -> Action:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in(triggers=EVERY_MINUTE, enabled=enabled))
    return action


def next_minute(after: dt.datetime) -> dt.datetime:
    return after.replace(second=0, microsecond=0) + MINUTE


async def tick(runtime: Runtime, now: dt.datetime) -> int:
    """A tick, then its runs ended, as a worker would end them before the next due time (a
    schedule adds no run while its last one still waits)."""
    async with session_scope(runtime.sessions) as session:
        made = await scheduler.tick(session, now)
    async with session_scope(runtime.sessions) as session:
        await session.execute(
            update(ActionRun)
            .where(ActionRun.status == RunStatus.QUEUED.value)
            .values(status=RunStatus.SUCCEEDED.value)
        )
    return made


async def scheduled_for(runtime: Runtime, action_id: str) -> list[dt.datetime]:
    async with session_scope(runtime.sessions) as session:
        rows = await session.scalars(
            select(ActionRun.scheduled_for)
            .where(ActionRun.action_id == action_id)
            .order_by(ActionRun.scheduled_for)
        )
        return [row for row in rows if row is not None]


async def test_three_minutes_give_three_runs_at_their_due_times(runtime: Runtime) -> None:
    action = await scheduled_action(runtime)
    start = next_minute(action.enabled_at)

    for second in range(0, 180, 20):  # ticks every 20 s over three minutes
        await tick(runtime, start + dt.timedelta(seconds=second))

    assert await scheduled_for(runtime, action.id) == [start, start + MINUTE, start + 2 * MINUTE]


async def test_a_repeated_tick_and_two_processes_ticking_make_one_run(runtime: Runtime) -> None:
    action = await scheduled_action(runtime)
    due = next_minute(action.enabled_at)
    now = due + dt.timedelta(seconds=5)

    assert await tick(runtime, now) == 1
    assert await tick(runtime, now) == 0
    later = due + MINUTE + dt.timedelta(seconds=1)
    made = await asyncio.gather(tick(runtime, later), tick(runtime, later))

    assert sorted(made) == [0, 1]
    assert await scheduled_for(runtime, action.id) == [due, due + MINUTE]


async def test_ten_missed_times_while_down_run_once(runtime: Runtime) -> None:
    action = await scheduled_action(runtime)
    first = next_minute(action.enabled_at)
    await tick(runtime, first)

    back = first + 11 * MINUTE + dt.timedelta(seconds=3)  # ten due times passed unseen
    assert await tick(runtime, back) == 1
    assert await tick(runtime, back + dt.timedelta(seconds=10)) == 0

    assert await scheduled_for(runtime, action.id) == [first, first + 11 * MINUTE]


async def test_enabling_after_a_due_time_does_not_run_it(runtime: Runtime) -> None:
    action = await scheduled_action(runtime, enabled=False)
    owner = await person(runtime, Role.ADMIN)
    await tick(runtime, next_minute(action.enabled_at) + dt.timedelta(seconds=1))
    assert await scheduled_for(runtime, action.id) == []  # disabled: nothing

    assert runtime.cipher is not None
    async with session_scope(runtime.sessions) as session:
        enabled = await service.update(
            session, owner, action.id, ActionPatch(enabled=True), runtime.cipher
        )
    # Just after enabling, before the next minute: the minute's due time was before it.
    boundary = next_minute(enabled.enabled_at)
    soon = min(
        enabled.enabled_at + dt.timedelta(seconds=1), boundary - dt.timedelta(milliseconds=1)
    )
    assert await tick(runtime, soon) == 0
    assert await tick(runtime, boundary + dt.timedelta(seconds=1)) == 1
    assert await scheduled_for(runtime, action.id) == [boundary]


async def test_old_runs_go_but_each_action_keeps_its_latest(runtime: Runtime) -> None:
    busy = await scheduled_action(runtime)
    quiet = await scheduled_action(runtime)
    now = utcnow()
    old = now - dt.timedelta(days=40)
    ended, queued = RunStatus.SUCCEEDED.value, RunStatus.QUEUED.value
    async with session_scope(runtime.sessions) as session:
        for number, (action, created, status) in enumerate(
            [
                (busy, old, ended),
                (busy, old + MINUTE, queued),  # an old run sent again: it waits to go out
                (busy, old + 2 * MINUTE, ended),
                (busy, now, ended),
                (quiet, old, ended),
            ]
        ):
            values = lifecycle.queued_values(action.id, "manual", f"manual:{number}")
            session.add(ActionRun(**{**values, "created_at": created, "status": status}))

    async with session_scope(runtime.sessions) as session:
        await scheduler.purge(session, now, keep_days=30)

    async with session_scope(runtime.sessions) as session:
        left = {(r.action_id, r.trigger_key) for r in await session.scalars(select(ActionRun))}
    assert left == {(busy.id, "manual:1"), (busy.id, "manual:3"), (quiet.id, "manual:4")}


async def test_a_schedule_adds_no_run_while_its_last_one_still_waits(runtime: Runtime) -> None:
    action = await scheduled_action(runtime)
    start = next_minute(action.enabled_at)

    for minute in range(5):  # no worker drains the queue (a receiver that never answers)
        async with session_scope(runtime.sessions) as session:
            await scheduler.tick(session, start + minute * MINUTE + dt.timedelta(seconds=1))

    assert await scheduled_for(runtime, action.id) == [start]
    async with session_scope(runtime.sessions) as session:
        await session.execute(update(ActionRun).values(status=RunStatus.SUCCEEDED.value))
    assert await tick(runtime, start + 4 * MINUTE + dt.timedelta(seconds=5)) == 0  # skipped
    assert await tick(runtime, start + 5 * MINUTE) == 1


@pytest.mark.parametrize(
    ("cron", "said"),
    [
        ("* * * * * *", "This schedule runs every 1 second; actions run at most every 5 minutes"),
        ("0-59/5 * * * * *", "This schedule runs every 5 seconds;"),
        ("* * * * *", "This schedule runs every 1 minute; actions run at most every 5 minutes"),
        ("0,1 8 * * *", "This schedule runs every 1 minute;"),
    ],
)
async def test_a_schedule_more_often_than_the_floor_is_refused(
    runtime: Runtime, cron: str, said: str
) -> None:
    owner = await person(runtime, Role.UPLOADER)
    floor = runtime.settings.model_copy(update={"actions_min_interval_seconds": 300})
    body = webhook_in(triggers=[{"type": "schedule", "cron": cron, "timezone": "UTC"}])
    assert runtime.cipher is not None

    with pytest.raises(InvalidInput) as refused:
        async with session_scope(runtime.sessions) as session:
            await service.create(session, owner, body, runtime.cipher, settings=floor)

    assert refused.value.message.startswith(said)
    assert refused.value.message.endswith("(ACTIONS_MIN_INTERVAL_SECONDS).")
    every_ten = webhook_in(triggers=[{"type": "schedule", "cron": "*/10 * * * *"}])
    async with session_scope(runtime.sessions) as session:
        await service.create(session, owner, every_ten, runtime.cipher, settings=floor)
    action, _ = await create(runtime, owner, webhook_in())
    with pytest.raises(InvalidInput):
        async with session_scope(runtime.sessions) as session:
            await service.update(
                session,
                owner,
                action.id,
                ActionPatch(triggers=body.triggers),
                runtime.cipher,
                settings=floor,
            )

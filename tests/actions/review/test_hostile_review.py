"""Findings of the hostile review of issue 26 (notes/review-i26-hostile.md), as tests that fail
until they are fixed: a schedule must not pile up runs behind one still waiting (finding 1), a
disabled action's queued runs must not be claimed (finding 3), and a kept import header must not
follow the URL to another host (finding 7)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from backend.actions import runs, scheduler, service
from backend.actions.models import ActionRun
from backend.actions.schemas import ActionPatch
from backend.auth.roles import Role
from backend.db import session_scope
from backend.errors import AppError
from backend.ingestion import access as ingestion_access
from backend.runtime import Runtime
from tests.actions.core.conftest import create, person, webhook_in

EVERY_MINUTE = [{"type": "schedule", "cron": "* * * * *", "timezone": "UTC"}]
MINUTE = dt.timedelta(minutes=1)


async def _tick(runtime: Runtime, now: dt.datetime) -> None:
    async with session_scope(runtime.sessions) as session:
        await scheduler.tick(session, now)


async def _count(runtime: Runtime, action_id: str) -> int:
    async with session_scope(runtime.sessions) as session:
        found = await session.scalar(
            select(func.count()).select_from(ActionRun).where(ActionRun.action_id == action_id)
        )
    return int(found or 0)


async def test_a_schedule_adds_no_run_while_its_last_one_still_waits(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in(triggers=EVERY_MINUTE))
    start = action.enabled_at.replace(second=0, microsecond=0) + MINUTE

    for minute in range(5):  # no worker drains the queue (a receiver that never answers)
        await _tick(runtime, start + minute * MINUTE + dt.timedelta(seconds=1))

    assert await _count(runtime, action.id) == 1


async def test_a_schedule_every_second_is_refused() -> None:
    from backend.actions import cron

    try:
        cron.check("* * * * * *", "UTC")
    except ValueError:
        return
    raise AssertionError("a schedule that fires every second was accepted")


async def test_a_disabled_actions_queued_run_is_not_claimed(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in(triggers=EVERY_MINUTE))
    due = action.enabled_at.replace(second=0, microsecond=0) + MINUTE
    await _tick(runtime, due + dt.timedelta(seconds=1))
    assert runtime.cipher is not None
    async with session_scope(runtime.sessions) as session:
        await service.update(session, owner, action.id, ActionPatch(enabled=False), runtime.cipher)

    async with session_scope(runtime.sessions) as session:
        claimed = await runs.claim_next_run(session, "reviewer/0", 30)

    assert claimed is None


async def test_a_kept_header_is_not_sent_to_a_new_host(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    async with session_scope(runtime.sessions) as session:
        await ingestion_access.claim(session, "review_headers", owner)
    body = webhook_in().model_copy(
        update={
            "kind": "import",
            "params": {
                "url": "https://files.example.com/a.csv",
                "datasource": "review_headers",
                "header": {"name": "Authorization", "value": "Bearer kept-secret"},
            },
        }
    )
    action, _ = await create(runtime, owner, body)
    assert runtime.cipher is not None
    patch = ActionPatch(
        params={"url": "https://attacker.example.net/a.csv", "datasource": "review_headers"}
    )
    try:
        async with session_scope(runtime.sessions) as session:
            changed = await service.update(session, owner, action.id, patch, runtime.cipher)
            kept = changed.params.get("header"), changed.secret_box
    except AppError:
        return  # refusing the change until the header is given again is a fix too

    assert kept == (None, None)

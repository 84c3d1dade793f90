"""Events are written with their cause (a task's failure and its event land or roll back
together) and become one run per enabled trigger that listens to them, once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from backend.actions import scheduler
from backend.actions.kinds import Outcome, RunContext, registry
from backend.actions.models import ActionRun
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.events.models import OutboxEvent
from backend.ingestion import acceptance
from backend.ingestion.intake import Intake
from backend.notifications.models import Notification
from backend.runtime import Runtime
from backend.tasks import lifecycle
from backend.tasks.models import TaskStatus
from backend.tasks.repository import claim_next
from tests.actions.core.conftest import create, fast_settings, person, started, webhook_in
from tests.conftest import Backend
from tests.factories import sales_csv

FAILURE = {"code": "read_error", "message": "The file is not a CSV file.", "detail": "Send one."}


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def claimed_task(runtime: Runtime, datasource: str = "sales") -> str:
    async with session_scope(runtime.sessions) as session:
        staged = await Intake(runtime.store, 10**8).stage(_chunks(sales_csv(rows=5)), "s.csv")
        task = (await acceptance.accept(session, staged, datasource)).task.id
    async with session_scope(runtime.sessions) as session:
        assert await claim_next(session, "w", 30) == task
    return task


async def fail(runtime: Runtime, task_id: str) -> None:
    async with session_scope(runtime.sessions) as session:
        await lifecycle.advance(
            session, task_id, TaskStatus.FAILED, "failed", owner="w", error=FAILURE
        )


async def events(runtime: Runtime) -> list[OutboxEvent]:
    async with session_scope(runtime.sessions) as session:
        return list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


async def runs_of(runtime: Runtime, action_id: str) -> list[ActionRun]:
    async with session_scope(runtime.sessions) as session:
        return list(
            await session.scalars(select(ActionRun).where(ActionRun.action_id == action_id))
        )


class Boom(Exception):
    pass


async def test_a_failed_task_and_its_event_are_written_or_rolled_back_together(
    runtime: Runtime,
) -> None:
    task_id = await claimed_task(runtime)

    with pytest.raises(Boom):
        async with session_scope(runtime.sessions) as session:
            await lifecycle.advance(
                session, task_id, TaskStatus.FAILED, "failed", owner="w", error=FAILURE
            )
            raise Boom
    assert await events(runtime) == []

    await fail(runtime, task_id)
    (event,) = await events(runtime)
    assert (event.kind, event.subject, event.datasource) == ("task.failed", task_id, "sales")
    assert event.payload["status"] == "failed"
    assert event.payload["error"] == {"code": "read_error", "message": FAILURE["message"]}
    assert event.payload["report_url"] == f"/api/ingest/status/{task_id}"


async def listening(runtime: Runtime, **trigger: Any) -> str:
    owner = await person(runtime, Role.UPLOADER)
    enabled = trigger.pop("enabled", True)
    body = webhook_in(triggers=[{"type": "event", **trigger}], enabled=enabled)
    action, _ = await create(runtime, owner, body)
    return action.id


async def test_an_event_runs_each_listening_trigger_once(runtime: Runtime) -> None:
    on_sales = await listening(runtime, event="task.failed", datasource="sales")
    on_any = await listening(runtime, event="task.failed")
    elsewhere = await listening(runtime, event="task.failed", datasource="other")
    on_success = await listening(runtime, event="task.succeeded")
    disabled = await listening(runtime, event="task.failed", enabled=False)
    task_id = await claimed_task(runtime)
    await fail(runtime, task_id)

    async with session_scope(runtime.sessions) as session:
        assert await scheduler.tick(session, utcnow()) == 2
    async with session_scope(runtime.sessions) as session:
        assert await scheduler.tick(session, utcnow()) == 0  # dispatched once

    for action_id in (on_sales, on_any):
        (run,) = await runs_of(runtime, action_id)
        assert (run.trigger, run.status) == ("event", "queued")
        assert run.input is not None and run.input["task_id"] == task_id
        assert run.input["event"] == "task.failed" and run.input["error"]["code"] == "read_error"
    for action_id in (elsewhere, on_success, disabled):
        assert await runs_of(runtime, action_id) == []
    (event,) = await events(runtime)
    assert event.dispatched_at is not None


async def test_the_uploader_is_still_notified_of_the_end(runtime: Runtime) -> None:
    uploader = await person(runtime, Role.UPLOADER)
    async with session_scope(runtime.sessions) as session:
        staged = await Intake(runtime.store, 10**8).stage(_chunks(sales_csv(rows=5)), "s.csv")
        task_id = (await acceptance.accept(session, staged, "mine", actor=uploader)).task.id
    async with session_scope(runtime.sessions) as session:
        assert await claim_next(session, "w", 30) == task_id
    await fail(runtime, task_id)
    async with session_scope(runtime.sessions) as session:
        notes = list(await session.scalars(select(Notification)))
    assert [note.kind for note in notes] == ["task_failed"]
    assert [event.kind for event in await events(runtime)] == ["task.failed"]


async def test_an_upload_that_lands_runs_the_actions_listening_to_it(
    backend: Backend, registered: list[str]
) -> None:
    """End to end in one process: the workers process the upload, its events are written with
    its end, the tick dispatches them and a worker runs the listening action."""
    seen: list[dict[str, Any]] = []

    async def remember(ctx: RunContext) -> Outcome:
        seen.append(dict(ctx.run.input or {}))
        return Outcome("succeeded", output={"seen": True})

    registry.register("webhook", remember)
    registered.append("webhook")
    runtime = await started(fast_settings(backend), workers=True)
    try:
        action_id = await listening(runtime, event="task.succeeded", datasource="fresh")
        schema_id = await listening(runtime, event="datasource.schema_changed")
        async with session_scope(runtime.sessions) as session:
            staged = await Intake(runtime.store, 10**8).stage(_chunks(sales_csv(rows=5)), "s.csv")
            task_id = (await acceptance.accept(session, staged, "fresh")).task.id
        runtime.wake_workers()
        ran = await _ended_runs(runtime, [action_id, schema_id])
    finally:
        await runtime.stop()
    assert [run.status for run in ran] == ["succeeded", "succeeded"]
    by_event = {item["event"]: item for item in seen}
    assert by_event["task.succeeded"]["task_id"] == task_id
    assert by_event["task.succeeded"]["rows_valid"] == 5
    assert by_event["datasource.schema_changed"]["datasource"] == "fresh"


async def _ended_runs(runtime: Runtime, action_ids: list[str]) -> list[ActionRun]:
    deadline = time.monotonic() + 60
    while True:
        found = [run for action_id in action_ids for run in await runs_of(runtime, action_id)]
        if len(found) == len(action_ids) and all(r.status == "succeeded" for r in found):
            return found
        assert time.monotonic() < deadline, [(r.action_id, r.status, r.error) for r in found]
        await asyncio.sleep(0.1)


async def test_an_action_with_its_queued_runs_at_the_cap_gets_no_more_from_events(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    action_id = await listening(runtime, event="task.failed")
    for _ in range(3):
        await fail(runtime, await claimed_task(runtime))

    async with session_scope(runtime.sessions) as session:
        made = await scheduler.tick(session, utcnow(), max_queued=2)

    assert made == 2 and len(await runs_of(runtime, action_id)) == 2
    warned = [r for r in caplog.records if "ACTIONS_MAX_QUEUED_RUNS" in r.getMessage()]
    assert len(warned) == 1

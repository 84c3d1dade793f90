"""The owner acts on an alert while its run is firing: a delete or a "send again" of the run
waits for the run's transaction (the state, the owner's notification, the checkpoint), then
does its work or says why not; neither fails. PostgreSQL only: its row locks are what they take
(SQLite has one writer at a time). CI 2026-12-07: deleteAction answered "the metadata database
is busy" (a deadlock: the run held its action's key from the state row and waited for the run's
row, which the delete held)."""

from __future__ import annotations

import asyncio

import pytest

from backend.actions import service
from backend.actions.kinds import RunContext, alert
from backend.actions.models import Action
from backend.actions.outbound.client import OutboundClient
from backend.auth.roles import Role
from backend.db import session_scope
from backend.errors import Conflict
from tests.actions.alerts.harness import checkpointer, create_action, new_run, owner, run_view
from tests.actions.alerts.harness import services as services_of
from tests.actions.alerts.test_alerts import (
    NOW,
    TODAY,
    YESTERDAY,
    alert_params,
    alerts_of,
    load,
    shop_csv,
)
from tests.conftest import App
from tests.locks import Held, waiting_on_a_lock

pytestmark = pytest.mark.parametrize("backend", ["postgres_s3"], indirect=True)


@pytest.mark.parametrize("meanwhile", ["delete", "redeliver"])
@pytest.mark.parametrize("pause", ["_locked_state", "_notify"])  # before the state row, after
async def test_the_owner_acting_on_a_firing_alert_waits_for_its_run(
    app: App, outbound: OutboundClient, monkeypatch: pytest.MonkeyPatch, meanwhile: str, pause: str
) -> None:
    await load(app, shop_csv((YESTERDAY, [10]), (TODAY, [5])))
    person = await owner(app, Role.UPLOADER, "ana")
    action = await create_action(app.runtime, person.principal, "alert", alert_params("below", 50))
    run_id = await new_run(app.runtime, action)
    held = Held(monkeypatch, alert, pause)
    given = services_of(app.runtime, outbound)
    run = await run_view(app.runtime, run_id)
    ctx = RunContext(action, run, person.principal, given, checkpointer(run_id), NOW)
    running = asyncio.create_task(alert.execute(ctx))
    await held.reached(20)

    async def act() -> str:
        async with session_scope(app.runtime.sessions) as session:
            if meanwhile == "delete":
                await service.delete(session, person.principal, action.id)
                return "deleted"
            try:
                await service.redeliver(session, person.principal, action.id, run_id)
            except Conflict as refused:
                return refused.message
            return "sent again"

    acting = asyncio.create_task(act())
    await waiting_on_a_lock(app.runtime.sessions)
    held.go.set()
    outcome, answer = await asyncio.wait_for(asyncio.gather(running, acting), 30)

    assert outcome.status == "succeeded" and outcome.output["fired"] is True
    assert len(await alerts_of(person)) == 1  # the owner was told before the alert went
    async with session_scope(app.runtime.sessions) as session:
        kept = await session.get(Action, action.id)
    if meanwhile == "delete":
        assert answer == "deleted" and kept is None
    else:
        assert answer.startswith("The run is running") and kept is not None

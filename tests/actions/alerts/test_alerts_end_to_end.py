"""An alert end to end: created through the actions service with an event trigger
(task.succeeded on its datasource), run by the app's own workers after each upload. The
replace upload that drops yesterday's figure gives one notification and one signed webhook;
the next upload that keeps it low gives neither. A report run by the workers mails the
dashboard's CSV through the mailer the runtime builds."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import standardwebhooks
from sqlalchemy import select

from backend.actions import service
from backend.actions.models import ActionRun
from backend.actions.schemas import ActionIn
from backend.auth.roles import Role
from backend.db import session_scope
from backend.runtime import Runtime
from tests.actions.alerts.conftest import Inbox
from tests.actions.alerts.harness import owner
from tests.actions.alerts.test_alerts import (
    TODAY,
    YESTERDAY,
    alert_params,
    alerts_of,
    load,
    shop_csv,
)
from tests.actions.alerts.test_reports import attachments, dashboard_csv, saved_workbook
from tests.actions.outbound.receiver import Reply, Seen, receiving
from tests.conftest import Backend, app_for

FAST: dict[str, Any] = {
    "actions_tick_seconds": 0.1,
    "actions_retry_base_seconds": 0.05,
    "actions_max_deliveries": 3,
    "actions_allowed_hosts": ["127.0.0.1"],
}


async def finished_runs(runtime: Runtime, action_id: str, count: int) -> list[ActionRun]:
    """The action's runs once `count` of them have ended (oldest first)."""
    deadline = time.monotonic() + 30
    while True:
        async with session_scope(runtime.sessions) as session:
            query = select(ActionRun).where(ActionRun.action_id == action_id)
            runs = list(await session.scalars(query.order_by(ActionRun.created_at)))
        ended = [run for run in runs if run.status in ("succeeded", "failed")]
        if len(ended) >= count:
            return ended
        assert time.monotonic() < deadline, [(r.status, r.output, r.error) for r in runs]
        await asyncio.sleep(0.1)


async def test_an_alert_on_uploads_fires_once_through_the_workers(backend: Backend) -> None:
    fast = dataclasses.replace(backend, settings=backend.settings.model_copy(update=FAST))
    events: list[Any] = []
    secret: list[str] = []

    def verify(seen: Seen) -> Reply:
        events.append(standardwebhooks.Webhook(secret[0]).verify(seen.body, seen.headers))
        return Reply(204)

    async with app_for(fast) as app:
        with receiving(verify) as receiver:
            person = await owner(app, Role.UPLOADER, "ana")
            body = ActionIn.model_validate(
                {
                    "name": "Shop sales dropped",
                    "kind": "alert",
                    "params": alert_params("below", 250, url=receiver.url("/alerts")),
                    "triggers": [
                        {"type": "event", "event": "task.succeeded", "datasource": "shop"}
                    ],
                }
            )
            assert app.runtime.cipher is not None
            async with session_scope(app.runtime.sessions) as session:
                action, made = await service.create(
                    session,
                    person.principal,
                    body,
                    app.runtime.cipher,
                    settings=app.runtime.settings,
                )
            assert made is not None
            secret.append(made)

            await load(app, shop_csv((YESTERDAY, [100, 200]), (TODAY, [50])))
            [first] = await finished_runs(app.runtime, action.id, 1)
            assert first.status == "succeeded" and first.output is not None
            assert (first.output["state"], first.output["fired"]) == ("ok", False)

            await load(app, shop_csv((YESTERDAY, [100])), replace=True)
            second = (await finished_runs(app.runtime, action.id, 2))[-1]
            assert second.status == "succeeded" and second.output is not None
            assert (second.output["value"], second.output["fired"]) == (100.0, True)

            await load(app, shop_csv((YESTERDAY, [90])), replace=True)
            third = (await finished_runs(app.runtime, action.id, 3))[-1]
            assert third.output is not None and third.output["fired"] is False

            notified = await alerts_of(person)
            assert len(notified) == 1 and "Shop sales dropped" in notified[0]["title"]
            assert len(events) == 1 and events[0]["type"] == "alert.fired"
            assert events[0]["data"]["value"] == 100.0
            await person.client.aclose()


async def test_a_report_run_by_the_workers_mails_the_dashboards_csv(
    backend: Backend, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    mail = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    settings = backend.settings.model_copy(update={**FAST, **mail})
    async with app_for(dataclasses.replace(backend, settings=settings)) as app:
        person = await owner(app, Role.UPLOADER, "ana")
        workbook = await saved_workbook(app, person)
        body = ActionIn.model_validate(
            {
                "name": "Weekly shop",
                "kind": "report",
                "params": {"workbook_id": workbook["id"], "to": ["ana@example.com"]},
            }
        )
        assert app.runtime.cipher is not None
        async with session_scope(app.runtime.sessions) as session:
            action, _ = await service.create(
                session, person.principal, body, app.runtime.cipher, settings=app.runtime.settings
            )
            await service.execute(session, person.principal, action.id)
        [run] = await finished_runs(app.runtime, action.id, 1)
        assert run.status == "succeeded", (run.output, run.error)
        [(to, message)] = handler.messages
        assert to == ["ana@example.com"]
        assert attachments(message)["Sales.csv"] == await dashboard_csv(person, workbook["id"], 0)
        await person.client.aclose()

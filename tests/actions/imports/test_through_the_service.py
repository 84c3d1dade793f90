"""A scheduled import end to end: created through the service as its owner would, its
schedule ticked (on a clock a minute apart each time), its runs claimed by the workers, and
the service restarted between ticks: each new file at the address becomes one task, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import standardwebhooks

from backend.actions import scheduler
from backend.actions import service as actions_service
from backend.actions.schemas import ActionIn
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from tests.actions.imports.conftest import Source, sales
from tests.actions.imports.harness import Files, file_server, wait_for_run
from tests.actions.outbound.receiver import Reply, Seen, receiving
from tests.conftest import Backend, app_for, make_token
from tests.factories import upload, wait_for_task


async def test_a_scheduled_import_runs_on_the_workers_across_restarts(source: Source) -> None:
    files = Files({"/daily.csv": sales(1)}, token="nightly-secret")
    with file_server(files) as server:
        async with app_for(source.backend) as app:
            token = await make_token(app.runtime, Role.UPLOADER, "nightly-owner")
            owner = await app.runtime.authenticate(token)
            assert owner is not None and app.runtime.cipher is not None
            async with app.client_as(token) as client:  # the owner's datasource
                first = await upload(client, content=sales(0), datasource="sales")
                assert first.status_code == 202, first.text
            body = ActionIn.model_validate(
                {
                    "name": "daily sales",
                    "kind": "import",
                    "params": {
                        "url": server.url("/daily.csv"),
                        "datasource": "sales",
                        "header": {"name": "X-Token", "value": "nightly-secret"},
                    },
                    "triggers": [{"type": "schedule", "cron": "* * * * *", "timezone": "UTC"}],
                }
            )
            async with session_scope(app.runtime.sessions) as session:
                action, _secret = await actions_service.create(
                    session, owner, body, app.runtime.cipher, settings=app.runtime.settings
                )
        start = utcnow()
        tasks: list[str] = []
        for minute in (1, 2, 3, 4):
            if minute < 4:  # the fourth tick finds nothing new
                files.served["/daily.csv"] = sales(minute)
            async with app_for(source.backend) as app:  # a restart between ticks
                async with session_scope(app.runtime.sessions) as session:
                    made = await scheduler.tick(session, start + dt.timedelta(minutes=minute))
                assert made == 1
                app.runtime.wake_workers()
                run = await wait_for_run(app.runtime, action.id)
                assert run.status == "succeeded", run.error
                assert run.output is not None
                for task_id in run.output["task_ids"]:
                    task = await wait_for_task(app.client, task_id)
                    assert task["status"] == "succeeded", task
                    assert task["action"] == {"id": action.id, "run_id": run.id}
                    tasks.append(task_id)
        assert len(tasks) == 3 == len(set(tasks))
        assert run.output["note"] == "Nothing new at the address."
        assert "nightly-secret" not in repr((action.params, run.output))  # sealed, sent only
        assert {h.headers.get("x-token") for h in server.hits} == {"nightly-secret"}


def one_bad_quantity() -> bytes:
    lines = sales(7).decode().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("Quantity")] = "0"
    lines[3] = ",".join(row)
    return ("\n".join(lines) + "\n").encode()


async def test_a_bad_file_gives_a_failed_task_and_a_signed_task_failed_webhook(
    source: Source,
) -> None:
    settings = source.backend.settings.model_copy(update={"actions_tick_seconds": 0.1})
    backend = Backend(source.backend.name, settings, source.backend.env)
    bodies: list[Any] = []
    secret: list[str] = []

    def verify(seen: Seen) -> Reply:
        bodies.append(standardwebhooks.Webhook(secret[0]).verify(seen.body, seen.headers))
        return Reply(200, body=b"thanks")

    with file_server(Files({"/bad.csv": one_bad_quantity()})) as files, receiving(verify) as hook:
        async with app_for(backend) as app:
            token = await make_token(app.runtime, Role.UPLOADER, "careful-owner")
            owner = await app.runtime.authenticate(token)
            assert owner is not None and app.runtime.cipher is not None
            async with app.client_as(token) as client:
                first = await upload(client, content=sales(0), datasource="sales")
                assert first.status_code == 202, first.text
            importing = ActionIn.model_validate(
                {
                    "name": "supplier file",
                    "kind": "import",
                    "params": {"url": files.url("/bad.csv"), "datasource": "sales"},
                }
            )
            telling = ActionIn.model_validate(
                {
                    "name": "tell the shop",
                    "kind": "webhook",
                    "params": {"url": hook.url("/failed")},
                    "triggers": [{"type": "event", "event": "task.failed", "datasource": "sales"}],
                }
            )
            async with session_scope(app.runtime.sessions) as session:
                action, _ = await actions_service.create(
                    session, owner, importing, app.runtime.cipher, settings=settings
                )
                _hook, made = await actions_service.create(
                    session, owner, telling, app.runtime.cipher, settings=settings
                )
            assert made is not None
            secret.append(made)
            async with session_scope(app.runtime.sessions) as session:
                await actions_service.execute(session, owner, action.id)
            app.runtime.wake_workers()
            run = await wait_for_run(app.runtime, action.id)
            assert run.status == "succeeded" and run.output is not None, run.error
            (task_id,) = run.output["task_ids"]
            task = await wait_for_task(app.client, task_id)
            assert task["status"] == "failed" and task["error"]["code"] == "invalid_rows"
            assert task["report"] is not None and task["rows_rejected"] == 1
            assert task["action"] == {"id": action.id, "run_id": run.id}
            await wait_for_run(app.runtime, _hook.id)
    (body,) = bodies
    assert body["type"] == "task.failed"
    data = body["data"]
    assert data["task_id"] == task_id and data["error"]["code"] == "invalid_rows"
    assert (data["rows_rejected"], data["source_action_id"]) == (1, action.id)

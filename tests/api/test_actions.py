"""Actions over REST (and the seed's Sigma routes): who may create which kind, whose actions a
caller sees, the webhook's secret shown once, validation errors that name the field, running one
now, turning one off, deleting it, and a schedule read in words."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from backend.auth.roles import Role
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task
from tests.services import free_port


@dataclass
class People:
    app: App
    admin: httpx.AsyncClient
    ulla: httpx.AsyncClient  # an uploader
    otto: httpx.AsyncClient  # another uploader
    vera: httpx.AsyncClient  # a viewer


@pytest.fixture
async def people(app: App) -> AsyncIterator[People]:
    # The admin's upload makes `sales` the admin's: other uploaders may not write into it.
    accepted = await upload(app.client, content=sales_csv(rows=5))
    assert (await wait_for_task(app.client, accepted.json()["task_id"]))["status"] == "succeeded"
    clients = [
        app.client_as(await app.token(role, name))
        for role, name in ((Role.UPLOADER, "ulla"), (Role.UPLOADER, "otto"), (Role.VIEWER, "vera"))
    ]
    try:
        yield People(app, app.client, *clients)
    finally:
        for client in clients:
            await client.aclose()


def alert(name: str = "Sales dropped", **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "alert",
        "params": {
            "datasource": "sales",
            "measure": {"aggregate": "count"},
            "window": "yesterday",
            "condition": {"op": "below", "value": 10},
            **params,
        },
        "triggers": [{"type": "schedule", "cron": "0 8 * * *", "timezone": "Europe/Berlin"}],
    }


def webhook(url: str, name: str = "Tell the warehouse") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "webhook",
        "params": {"url": url},
        "triggers": [{"type": "event", "event": "task.failed"}],
    }


def url_import(datasource: str = "sales") -> dict[str, Any]:
    return {
        "name": "Nightly prices",
        "kind": "import",
        "params": {"url": "https://files.example.com/prices.csv", "datasource": datasource},
        "triggers": [{"type": "schedule", "cron": "0 2 * * *"}],
    }


def unreachable() -> str:
    """A receiver address on this machine nothing listens on (the service refuses loopback
    unless ACTIONS_ALLOWED_HOSTS names it, so no packet leaves in any case)."""
    return f"http://127.0.0.1:{free_port()}/hook"


async def ended_runs(client: httpx.AsyncClient, action_id: str) -> list[dict[str, Any]]:
    """The action's runs once none is queued or running (the workers take them at once)."""
    deadline = time.monotonic() + 30
    while True:
        answer = await client.get(f"/api/actions/{action_id}/runs")
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        if all(run["status"] in ("succeeded", "failed") for run in items):
            return items
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.1)


async def created(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/api/actions", json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_a_viewer_creates_alerts_but_not_imports_or_webhooks(people: People) -> None:
    made = await created(people.vera, alert())
    assert made["kind"] == "alert" and made["owner"] and made["enabled"] is True
    assert made["triggers"][0]["words"] and len(made["triggers"][0]["next_times"]) == 5

    for body in (url_import(), webhook(unreachable())):
        refused = await people.vera.post("/api/actions", json=body)
        assert refused.status_code == 403, refused.text
        error = refused.json()
        assert "uploader" in error["error"] and error["error"].endswith("."), error
        assert error["detail"], error
    # An alert that calls a url is a webhook too: the uploader role.
    refused = await people.vera.post("/api/actions", json=alert(url=unreachable()))
    assert refused.status_code == 403, refused.text


async def test_an_uploader_imports_only_into_a_datasource_it_may_write(people: People) -> None:
    refused = await people.ulla.post("/api/actions", json=url_import("sales"))
    assert refused.status_code == 403, refused.text
    assert "sales" in refused.json()["error"], refused.text
    # Its own datasource is writable, and the admin may write into any.
    mine = await upload(people.ulla, content=sales_csv(rows=2), datasource="ulla_prices")
    assert (await wait_for_task(people.ulla, mine.json()["task_id"]))["status"] == "succeeded"
    assert (await created(people.ulla, url_import("ulla_prices")))["kind"] == "import"
    assert (await created(people.admin, url_import("sales")))["kind"] == "import"


async def test_each_sees_their_own_actions_and_admins_see_all(people: People) -> None:
    ullas = await created(people.ulla, webhook(unreachable()))
    veras = await created(people.vera, alert())

    def ids(page: httpx.Response) -> set[str]:
        assert page.status_code == 200, page.text
        return {item["id"] for item in page.json()["items"]}

    assert ids(await people.ulla.get("/api/actions")) == {ullas["id"]}
    assert ids(await people.vera.get("/api/actions")) == {veras["id"]}
    assert ids(await people.admin.get("/api/actions")) >= {ullas["id"], veras["id"]}
    assert (await people.admin.get("/api/actions")).json()["total"] >= 2

    # Another person's action is as if it did not exist, whatever one does with it.
    path = f"/api/actions/{ullas['id']}"
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/execute")):
        kwargs: dict[str, Any] = {"json": {"enabled": False}} if method == "PATCH" else {}
        answer = await people.otto.request(method, path + suffix, **kwargs)
        assert answer.status_code == 404, (method, answer.text)
        assert answer.json()["error"].endswith("."), answer.text
    assert (await people.otto.get(f"{path}/runs")).status_code == 404
    assert (await people.otto.get("/api/actions/not-an-id")).status_code == 404
    assert (await people.otto.patch("/api/actions/schedule-preview")).status_code == 405
    assert (await people.admin.get(path)).json()["name"] == "Tell the warehouse"
    assert (await people.admin.post(f"{path}/execute")).status_code == 202  # admins run all


async def test_the_webhook_secret_is_shown_once(people: People) -> None:
    made = await created(people.ulla, webhook(unreachable()))
    secret = made["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert made["secret_hint"] and secret.endswith(made["secret_hint"].lstrip("…"))
    path = f"/api/actions/{made['id']}"

    run = await people.ulla.post(f"{path}/execute")
    assert run.status_code == 202, run.text
    # Loopback is not allowed on this service: the delivery is refused, and its row says so.
    (ended,) = await ended_runs(people.ulla, made["id"])
    assert ended["status"] == "failed" and ended["delivery_log"][0]["refused"] is True, ended
    again = await people.ulla.post(f"{path}/runs/{ended['id']}/redeliver")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == ended["id"] and again.json()["status"] == "queued"
    (resent,) = await ended_runs(people.ulla, made["id"])
    assert len(resent["delivery_log"]) == 2, resent
    elsewhere = await people.otto.post(f"{path}/runs/{ended['id']}/redeliver")
    assert elsewhere.status_code == 404, elsewhere.text
    rotated = await people.ulla.post(f"{path}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["secret"]
    assert second.startswith("whsec_") and second != secret

    query = "query { actions { items { id params secretHint lastRun { output error } } } }"
    answers = [
        await people.ulla.get(path),
        await people.ulla.get("/api/actions"),
        await people.ulla.get(f"{path}/runs"),
        await people.ulla.get("/api/sigma/actions"),
        await people.ulla.post("/graphql", json={"query": query}),
        await people.admin.get("/api/access-logs", params={"limit": 500}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert secret not in answer.text and second not in answer.text, answer.text
        assert '"secret"' not in answer.text, answer.text
    logged = json.dumps(answers[-1].json())
    assert made["id"] in logged  # the creation is in the audit log, without its secret


async def test_validation_errors_name_the_field(people: People) -> None:
    cases = [
        (alert() | {"triggers": [{"type": "schedule", "cron": "61 * * * *"}]}, "cron"),
        (
            alert() | {"triggers": [{"type": "schedule", "cron": "0 8 * * *", "timezone": "Mars"}]},
            "Mars",
        ),
        (webhook(unreachable()) | {"triggers": [{"type": "event", "event": "moon.rose"}]}, "event"),
        (webhook("https://ana:pw@hooks.example.com/x"), "credentials"),
        (
            url_import("ulla_prices")
            | {
                "params": {
                    "url": "https://files.example.com/a.csv",
                    "s3_uri": "s3://bucket/a.csv",
                    "datasource": "ulla_prices",
                }
            },
            "s3_uri",
        ),
    ]
    for body, named in cases:
        answer = await people.ulla.post("/api/actions", json=body)
        assert answer.status_code == 422, answer.text
        error = answer.json()
        words = f"{error['error']} {error['detail']}"
        assert named in words and error["code"] == "invalid_input", error
        sigma = await people.ulla.post("/api/sigma/actions", json=body)
        assert sigma.status_code == 422 and sigma.json()["detail"] == error["detail"], sigma.text
    assert (await people.ulla.get("/api/actions")).json()["total"] == 0


async def test_the_sigma_routes_answer_the_same(people: People) -> None:
    made = await people.vera.post("/api/sigma/actions", json=alert())
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "success"
    action = made.json()["data"]
    assert action["kind"] == "alert" and action["secret"] is None

    listed = await people.vera.get("/api/sigma/actions")
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == (await people.vera.get("/api/actions")).json()

    run = await people.vera.post(f"/api/sigma/actions/{action['id']}/execute")
    assert run.status_code == 202, run.text
    assert run.json()["status"] == "success"
    assert run.json()["data"]["action_id"] == action["id"]
    assert run.json()["data"]["trigger"] == "manual"
    other = await people.otto.post(f"/api/sigma/actions/{action['id']}/execute")
    assert other.status_code == 404, other.text


async def test_execute_queues_a_run_that_the_runs_show(people: People) -> None:
    action = await created(people.vera, alert())
    path = f"/api/actions/{action['id']}"
    run = await people.vera.post(f"{path}/execute")
    assert run.status_code == 202, run.text
    queued = run.json()
    assert queued["status"] == "queued" and queued["trigger"] == "manual", queued

    runs = await people.vera.get(f"{path}/runs")
    assert runs.status_code == 200, runs.text
    page = runs.json()
    assert page["total"] == 1 and [r["id"] for r in page["items"]] == [queued["id"]]
    assert page["items"][0]["status"] in ("queued", "running", "succeeded", "failed")
    assert isinstance(page["items"][0]["delivery_log"], list)
    assert (await people.admin.get(f"{path}/runs")).json()["total"] == 1
    too_many = await people.vera.get(f"{path}/runs", params={"limit": 1000})
    assert too_many.status_code == 422, too_many.text


async def test_an_action_is_turned_off_then_deleted(people: People) -> None:
    action = await created(people.vera, alert())
    path = f"/api/actions/{action['id']}"
    changed = await people.vera.patch(path, json={"enabled": False, "name": "Quiet alert"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False and changed.json()["name"] == "Quiet alert"
    assert (await people.vera.get(path)).json()["enabled"] is False

    assert (await people.vera.delete(path)).status_code == 204
    gone = await people.vera.get(path)
    assert gone.status_code == 404, gone.text
    assert (await people.vera.get("/api/actions")).json()["total"] == 0


async def test_a_schedule_is_read_in_words(people: People) -> None:
    answer = await people.vera.get(
        "/api/actions/schedule-preview",
        params={"cron": "30 8 * * 1-5", "timezone": "Europe/Berlin"},
    )
    assert answer.status_code == 200, answer.text
    said = answer.json()
    assert "08:30" in said["words"] and "Europe/Berlin" in said["words"], said
    assert len(said["next_times"]) == 5 and said["next_times"] == sorted(said["next_times"])
    assert all(time.endswith("+01:00") or time.endswith("+02:00") for time in said["next_times"])

    bad = await people.vera.get("/api/actions/schedule-preview", params={"cron": "99 * * * *"})
    assert bad.status_code == 422, bad.text
    assert "cron expression" in bad.json()["error"] and bad.json()["error"].endswith("."), bad.text
    twice = await people.vera.get("/api/actions/schedule-preview?cron=*+*+*+*+*&cron=1+*+*+*+*")
    assert twice.status_code == 422, twice.text


async def test_an_alert_or_report_on_a_column_the_datasource_lacks_is_refused_when_saved(
    people: People,
) -> None:
    """A misspelt column is told when the action is saved, with the columns there are, not at
    its first run hours later."""
    misspelt = alert(measure={"aggregate": "sum", "column": "Totl"})
    answer = await people.vera.post("/api/actions", json=misspelt)
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert "'Totl'" in error["error"] and "Total" in error["detail"], error
    filtered = alert(filters=[{"kind": "in", "column": "Brnch", "values": ["A"]}])
    assert (await people.vera.post("/api/actions", json=filtered)).status_code == 422
    report = {
        "name": "Weekly totals",
        "kind": "report",
        "params": {
            "query": {"datasource": "sales", "measures": [{"aggregate": "sum", "column": "Totl"}]},
            "to": ["vera@example.com"],
        },
        "triggers": [{"type": "manual"}],
    }
    assert (await people.admin.post("/api/actions", json=report)).status_code == 422
    made = await created(people.vera, alert(measure={"aggregate": "sum", "column": "Total"}))
    patched = await people.vera.patch(
        f"/api/actions/{made['id']}", json={"params": misspelt["params"]}
    )
    assert patched.status_code == 422 and "'Totl'" in patched.json()["error"], patched.text
    # A datasource without data yet is checked when the action runs.
    assert (
        await people.vera.post("/api/actions", json=alert(datasource="later"))
    ).status_code == 201
    assert (await people.vera.get("/api/actions")).json()["total"] == 2


async def test_an_alert_on_a_datasource_without_rows_yet_is_checked_when_it_runs(app: App) -> None:
    """`sales` is known before its first file, with no column yet: the alert is saved (the
    e2e suite's fresh service refused every column, listing none)."""
    answer = await app.client.post(
        "/api/actions", json=alert(measure={"aggregate": "sum", "column": "Total"})
    )
    assert answer.status_code == 201, answer.text

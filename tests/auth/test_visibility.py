"""What a caller sees of other principals and of workers: admins see token ids and the worker
(host:pid) that ran a task; everyone else sees a principal's name and "a worker", in REST,
GraphQL and the live streams alike."""

from __future__ import annotations

import os
import socket
from typing import Any

import httpx

from backend.auth.roles import Role
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task

SIGMA = "{ sigmaStatus { lastChange { changedBy } } }"
EVENTS = "query($id: ID!) { ingestionTask(taskId: $id) { events { message detail } } }"
WORKER = f"{socket.gethostname()}:{os.getpid()}:"  # the in-process worker's name begins so


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    answer = await client.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


async def test_who_changed_the_mode_shows_a_token_id_to_admins_only(app: App) -> None:
    changed = await app.client.post("/api/sigma/toggle-mode", json={"mode": "standalone"})
    assert changed.status_code == 200, changed.text
    for role in (Role.VIEWER, Role.UPLOADER):
        client = app.client_as(await app.token(role))
        rest = (await client.get("/api/sigma/status")).json()["data"]["last_change"]
        assert rest["changed_by"] == "test-admin", rest
        graphql = (await gql(client, SIGMA))["sigmaStatus"]["lastChange"]
        assert graphql["changedBy"] == "test-admin"
    admin = (await app.client.get("/api/sigma/status")).json()["data"]["last_change"]
    assert admin["changed_by"].startswith("test-admin (token:"), admin
    assert (await gql(app.client, SIGMA))["sigmaStatus"]["lastChange"] == {
        "changedBy": admin["changed_by"]
    }


async def test_task_events_name_the_worker_to_admins_only(app: App) -> None:
    accepted = await upload(app.client, content=sales_csv(rows=4, seed=61))
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert any(WORKER in e["message"] for e in task["events"]), task["events"]
    viewer = app.client_as(await app.token(Role.VIEWER))
    shown = (await viewer.get(f"/api/ingest/status/{task['task_id']}")).json()
    assert WORKER not in str(shown) and "processing started by a worker" in str(shown)
    listed = (await viewer.get("/api/ingest/tasks")).json()
    assert WORKER not in str(listed)
    graphql = await gql(viewer, EVENTS, id=task["task_id"])
    assert WORKER not in str(graphql) and "a worker" in str(graphql)
    admin = await gql(app.client, EVENTS, id=task["task_id"])
    assert WORKER in str(admin)
    stream = await viewer.get(f"/api/ingest/tasks/{task['task_id']}/events")
    assert stream.status_code == 200 and "event: event" in stream.text
    assert WORKER not in stream.text and "a worker" in stream.text

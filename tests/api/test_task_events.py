"""Live task updates over Server-Sent Events: every recorded event in order, progress ticks,
a final message, resumption with Last-Event-ID, and the usual refusals."""

from __future__ import annotations

import json
from typing import Any

import httpx

from backend.auth.roles import Role
from tests.api.test_ingest import upload, wait_for_task
from tests.conftest import App
from tests.factories import sales_csv


def parse_sse(text: str) -> list[dict[str, Any]]:
    messages = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
        if "data" in fields:
            data = json.loads(fields["data"])
            assert data["id"] == fields.get("id") and data["kind"] == fields.get("event"), block
            messages.append(data)
    return messages


async def stream(client: httpx.AsyncClient, task_id: str, **headers: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/ingest/tasks/{task_id}/events", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    return parse_sse(answer.text)


async def test_the_stream_carries_every_event_in_order_and_ends_final(app: App) -> None:
    accepted = await upload(app.client, content=sales_csv(rows=200))
    task_id = accepted.json()["task_id"]
    messages = await stream(app.client, task_id)  # live: returns when the task is final
    task = await wait_for_task(app.client, task_id)

    events = [m for m in messages if m["kind"] == "event"]
    assert [m["event"]["status"] for m in events] == [e["status"] for e in task["events"]]
    assert [m["event"]["message"] for m in events] == [e["message"] for e in task["events"]]
    assert [int(m["id"]) for m in events] == sorted({int(m["id"]) for m in events})
    assert messages[-1]["final"] is True and messages[-1]["status"] == "succeeded"
    assert messages[-1]["rows_valid"] == 200
    assert all(not m["final"] for m in messages[:-1])
    # ticks carry the state between events, never going backwards
    progress = [m["progress"] for m in messages]
    assert progress == sorted(progress)


async def test_last_event_id_resumes_after_what_the_client_has(app: App) -> None:
    accepted = await upload(app.client, content=sales_csv(rows=20))
    task_id = accepted.json()["task_id"]
    everything = await stream(app.client, task_id)
    events = [m for m in everything if m["kind"] == "event"]
    assert len(events) >= 3
    resumed = await stream(app.client, task_id, **{"Last-Event-ID": events[1]["id"]})
    assert [m["id"] for m in resumed if m["kind"] == "event"] == [m["id"] for m in events[2:]]
    after_a_tick = await stream(app.client, task_id, **{"Last-Event-ID": f"{events[1]['id']}.3"})
    assert [m["id"] for m in after_a_tick if m["kind"] == "event"] == [m["id"] for m in events[2:]]
    at_the_end = await stream(app.client, task_id, **{"Last-Event-ID": events[-1]["id"]})
    assert len(at_the_end) == 1 and at_the_end[0]["final"] is True


async def test_streams_are_refused_clearly(app: App) -> None:
    missing = await app.client.get("/api/ingest/tasks/nope/events")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    accepted = await upload(app.client, content=sales_csv(rows=5))
    task_id = accepted.json()["task_id"]
    bad = await app.client.get(
        f"/api/ingest/tasks/{task_id}/events", headers={"Last-Event-ID": "drop table"}
    )
    assert bad.status_code == 422, bad.text
    anonymous = await app.client_as(None).get(f"/api/ingest/tasks/{task_id}/events")
    assert anonymous.status_code == 401
    viewer = app.client_as(await app.token(Role.VIEWER))
    assert (await stream(viewer, task_id))[-1]["final"] is True

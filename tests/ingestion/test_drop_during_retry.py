"""A datasource dropped while one of its failed uploads is being retried: the retry was accepted
(202), so the upload is not lost; the drop waits for it and is refused as for any queued upload
(409, "cancel it first"). PostgreSQL only: its row locks are what the two take (SQLite has one
writer at a time)."""

from __future__ import annotations

import asyncio

import pytest

from backend.tasks import repository
from tests.conftest import App
from tests.factories import upload, wait_for_task
from tests.locks import Held, waiting_on_a_lock

pytestmark = pytest.mark.parametrize("backend", ["postgres_s3"], indirect=True)


async def test_a_drop_during_a_retry_keeps_the_retried_upload(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = await upload(app.client, content=b"a,b\n1\n", datasource="drops")
    task_id = accepted.json()["task_id"]
    assert (await wait_for_task(app.client, task_id))["status"] == "failed"
    held = Held(monkeypatch, repository, "lock_content")
    retrying = asyncio.create_task(app.client.post(f"/api/ingest/tasks/{task_id}/retry"))
    await held.reached()
    dropping = asyncio.create_task(app.client.delete("/api/datasources/drops"))
    await waiting_on_a_lock(app.runtime.sessions)
    held.go.set()
    retried, dropped = await asyncio.wait_for(asyncio.gather(retrying, dropping), 30)

    assert retried.status_code == 202, retried.text
    assert dropped.status_code == 409, dropped.text
    assert "cancel" in dropped.json()["detail"].lower()
    assert (await wait_for_task(app.client, task_id))["status"] == "failed"  # ran again

"""A datasource dropped while one of its failed uploads is being retried: the retry was accepted
(202), so the upload is not lost; the drop waits for it and is refused as for any queued upload
(409, "cancel it first"). PostgreSQL only: its row locks are what the two take (SQLite has one
writer at a time)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from backend.tasks import repository
from tests.conftest import App
from tests.factories import upload, wait_for_task
from tests.locks import waiting_on_a_lock

pytestmark = pytest.mark.parametrize("backend", ["postgres_s3"], indirect=True)


async def test_a_drop_during_a_retry_keeps_the_retried_upload(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted = await upload(app.client, content=b"a,b\n1\n", datasource="drops")
    task_id = accepted.json()["task_id"]
    assert (await wait_for_task(app.client, task_id))["status"] == "failed"
    inside, go = asyncio.Event(), asyncio.Event()
    lock_content = repository.lock_content

    async def paused(*args: Any) -> None:  # the retry, holding its task
        inside.set()
        await go.wait()
        await lock_content(*args)

    monkeypatch.setattr(repository, "lock_content", paused)
    retrying = asyncio.create_task(app.client.post(f"/api/ingest/tasks/{task_id}/retry"))
    await asyncio.wait_for(inside.wait(), 10)
    dropping = asyncio.create_task(app.client.delete("/api/datasources/drops"))
    await waiting_on_a_lock(app.runtime.sessions)
    go.set()
    retried, dropped = await asyncio.wait_for(asyncio.gather(retrying, dropping), 30)

    assert retried.status_code == 202, retried.text
    assert dropped.status_code == 409, dropped.text
    assert "cancel" in dropped.json()["detail"].lower()
    assert (await wait_for_task(app.client, task_id))["status"] == "failed"  # ran again

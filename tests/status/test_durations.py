"""A run's duration on the performance page is the time it worked: the time it stood failed
until someone retried it is said apart (waited), in neither the duration nor its stages."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from tests.conftest import App
from tests.factories import upload, wait_for_task

STOOD_FAILED = 3.0  # seconds between the failure and the retry


async def recent_run(app: App, task_id: str) -> dict[str, Any]:
    body = (await app.client.get("/api/performance/pipelines")).json()["data"]
    return next(r for p in body for r in p["recent"] if r["task_id"] == task_id)


async def test_the_wait_before_a_retry_is_not_in_the_duration(app: App) -> None:
    bad = await upload(app.client, content=b"PAR1" + bytes(300), filename="broken.parquet")
    task_id = bad.json()["task_id"]
    assert (await wait_for_task(app.client, task_id))["status"] == "failed"
    await asyncio.sleep(STOOD_FAILED)
    assert (await app.client.post(f"/api/ingest/tasks/{task_id}/retry")).status_code == 202
    assert (await wait_for_task(app.client, task_id))["status"] == "failed"

    run = await recent_run(app, task_id)
    start = dt.datetime.fromisoformat(run["created_at"])
    end = dt.datetime.fromisoformat(run["finished_at"])
    assert run["waited_seconds"] >= STOOD_FAILED
    assert run["duration_seconds"] < (end - start).total_seconds() - STOOD_FAILED + 0.01
    assert run["duration_seconds"] + run["waited_seconds"] <= (end - start).total_seconds() + 0.01
    worked = sum(s or 0 for s in run["stages_seconds"].values())
    assert abs(worked - run["duration_seconds"]) < 0.01  # the stages hold no wait either

    query = (
        "{ pipelines { recent { taskId durationSeconds waitedSeconds stages { stage seconds } } } }"
    )
    graphql = (await app.client.post("/graphql", json={"query": query})).json()["data"]
    (same,) = [r for p in graphql["pipelines"] for r in p["recent"] if r["taskId"] == task_id]
    assert same["durationSeconds"] == run["duration_seconds"]
    assert same["waitedSeconds"] == run["waited_seconds"]

"""A datasource dropped while a new upload under the same name lands: the drop removes the
stored objects of the tasks it dropped (and those of tasks long gone), not the new upload's,
whose rows stay queryable (its dataset removed under its record would be an accepted upload
lost)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from backend.ingestion import datasources
from tests.conftest import App
from tests.factories import sales_csv, stored_keys, upload, wait_for_task
from tests.locks import Held

COUNT = '{ rowCount(filter: {datasource: "again"}) }'


async def test_an_upload_landing_during_the_drop_keeps_its_rows(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await upload(app.client, content=sales_csv(rows=5, seed=3), datasource="again")
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"
    held = Held(monkeypatch, datasources, "remove_stored")
    dropping = asyncio.create_task(app.client.delete("/api/datasources/again"))
    await held.reached()
    second = await upload(app.client, content=sales_csv(rows=7, seed=4), datasource="again")
    new_id = second.json()["task_id"]
    assert (await wait_for_task(app.client, new_id))["status"] == "succeeded"
    orphan = f"datasets/again/{uuid.uuid4().hex}.parquet"  # an earlier drop's, storage failing
    writer = app.runtime.store.writer(orphan)
    await writer.write(b"left")
    await writer.commit()
    held.go.set()
    dropped = await asyncio.wait_for(dropping, 30)

    assert dropped.status_code == 200, dropped.text
    assert dropped.json()["tasks_removed"] == 1
    kept = [k for k in await stored_keys(app.runtime, "datasets") if "/again/" in k]
    assert kept and all(new_id in k for k in kept)
    gone = (first.json()["task_id"], orphan)
    assert not [k for k in await stored_keys(app.runtime) if any(g in k for g in gone)]
    answer = (await app.client.post("/graphql", json={"query": COUNT})).json()
    assert answer["data"] == {"rowCount": 7}, answer

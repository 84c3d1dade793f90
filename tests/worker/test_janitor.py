"""Nothing of an upload outlives its failure: a commit that fails removes the stored bytes in the
same request, a janitor removes what a crash left, and a full disk refuses uploads up front."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backend.db import session_scope
from backend.ingestion import acceptance
from backend.ingestion.intake import Intake
from backend.worker import janitor
from tests.conftest import App, Backend, app_for
from tests.factories import sales_csv, stored_keys, upload, wait_for_task


async def chunks(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def test_a_failed_commit_removes_the_staged_upload(app: App) -> None:
    runtime = app.runtime
    staged = await Intake(runtime.store, 10_000_000).stage(chunks(sales_csv(rows=5)), "data.csv")
    assert await runtime.store.exists(staged.key)
    with pytest.raises(RuntimeError, match="commit failed"):
        async with session_scope(runtime.sessions) as session:
            await acceptance.accept(session, staged, "sales")
            raise RuntimeError("the commit failed")  # whatever ends the transaction unsaved
    assert not await runtime.store.exists(staged.key)


async def test_the_janitor_removes_uploads_no_task_refers_to(app: App) -> None:
    runtime = app.runtime
    kept = (await upload(app.client, content=sales_csv(rows=5))).json()["task_id"]
    await wait_for_task(app.client, kept)
    orphan = await Intake(runtime.store, 10_000_000).stage(
        chunks(sales_csv(rows=6, seed=3)), "lost.csv"
    )
    young = await janitor.remove_orphans(runtime.sessions, runtime.store, older_than=3600)
    assert young == 0 and await runtime.store.exists(orphan.key)  # maybe still streaming
    removed = await janitor.remove_orphans(runtime.sessions, runtime.store, older_than=0)
    assert removed == 1 and not await runtime.store.exists(orphan.key)
    assert any(key.startswith(f"raw/{kept}/") for key in await stored_keys(runtime, "raw"))


async def test_uploads_are_refused_before_the_disk_fills(backend: Backend) -> None:
    settings = backend.settings.model_copy(update={"min_free_disk_mb": 1024**3})  # an exabyte
    async with app_for(Backend(backend.name, settings, backend.env)) as app:
        refused = await upload(app.client, content=sales_csv(rows=5))
        assert refused.status_code == 507, refused.text
        assert refused.json()["code"] == "insufficient_storage"
        assert "free disk space" in refused.json()["error"]
        graphql = await app.client.post(
            "/graphql",
            headers={"GraphQL-Preflight": "1"},
            data={
                "operations": '{"query": "mutation($f: Upload!) { uploadSalesData(file: $f, '
                'dataSourceName: \\"sales\\") { taskId } }", "variables": {"f": null}}',
                "map": '{"0": ["variables.f"]}',
            },
            files={"0": ("data.csv", sales_csv(rows=5))},
        )
        assert graphql.status_code == 507, graphql.text
        assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0
        assert await stored_keys(app.runtime) == []

"""A task says which action and run fetched its file (REST and GraphQL); an upload says none."""

from __future__ import annotations

from sqlalchemy import select, update

from backend.db import session_scope
from backend.events.models import OutboxEvent
from backend.tasks.models import IngestionTask
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task


async def test_a_task_names_the_action_and_run_that_fetched_its_file(app: App) -> None:
    fetched = (await upload(app.client, content=sales_csv(rows=3, seed=1))).json()["task_id"]
    uploaded = (await upload(app.client, content=sales_csv(rows=3, seed=2))).json()["task_id"]
    async with session_scope(app.runtime.sessions) as session:
        await session.execute(
            update(IngestionTask)
            .where(IngestionTask.id == fetched)
            .values(source_action_id="a" * 32, source_run_id="r" * 32)
        )

    assert (await wait_for_task(app.client, fetched))["action"] == {
        "id": "a" * 32,
        "run_id": "r" * 32,
    }
    assert (await wait_for_task(app.client, uploaded))["action"] is None
    query = "query($id: ID!) { ingestionTask(taskId: $id) { action { id runId } } }"
    answer = await app.client.post("/graphql", json={"query": query, "variables": {"id": fetched}})
    assert answer.json()["data"]["ingestionTask"]["action"] == {"id": "a" * 32, "runId": "r" * 32}


async def test_a_contract_change_is_an_event(app: App) -> None:
    created = await app.client.post(
        "/api/datasources",
        json={
            "name": "meters",
            "contract": "declared",
            "columns": [{"name": "day", "type": "date"}, {"name": "reading", "type": "integer"}],
            "time_column": "day",
        },
    )
    assert created.status_code == 201, created.text
    mutation = """mutation { updateDatasourceContract(name: "meters",
        addColumns: [{name: "site", type: STRING}]) { schemaVersion } }"""
    answer = await app.client.post("/graphql", json={"query": mutation})
    assert "errors" not in answer.json(), answer.text

    async with session_scope(app.runtime.sessions) as session:
        events = list(
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.kind == "datasource.schema_changed")
            )
        )
    (event,) = events
    assert event.datasource == "meters"
    assert event.payload["version"] == 2 and event.payload["by"] == "test-admin"
    assert event.payload["changes"] == [{"column": "site", "kind": "add_column", "type": "string"}]

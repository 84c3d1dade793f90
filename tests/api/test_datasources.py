"""Datasources over REST and GraphQL: listed with their contract; dropped from the database,
storage and the engine (admin only, audited, refused while an upload of theirs is running)."""

from __future__ import annotations

from backend.auth.roles import Role
from tests.conftest import App, make_token
from tests.factories import sales_csv, stored_keys, upload, wait_for_task

OTHER = b"day,amount,label\n2024-01-01,1.5,x\n2024-01-02,2.5,y\n"


async def test_datasources_are_listed_with_their_contract(app: App) -> None:
    for name, content in (("sales_eu", sales_csv(rows=8, seed=70)), ("readings", OTHER)):
        accepted = await upload(app.client, content=content, datasource=name)
        assert (await wait_for_task(app.client, accepted.json()["task_id"]))["status"] in (
            "succeeded",
            "failed",
        )
    listed = {d["name"]: d for d in (await app.client.get("/api/datasources")).json()}
    assert listed["readings"]["contract"] == "inferred" and listed["readings"]["row_count"] == 2
    assert listed["sales"]["contract"] == "sales"
    one = await app.client.get("/api/datasources/readings")
    assert one.status_code == 200 and set(one.json()["columns"]) >= {"day", "amount", "label"}
    missing = await app.client.get("/api/datasources/nothing_here")
    assert missing.status_code == 404, missing.text
    graphql = await app.client.post(
        "/graphql", json={"query": "{ datasources { name contract rowCount } }"}
    )
    assert {"name": "readings", "contract": "inferred", "rowCount": 2} in graphql.json()["data"][
        "datasources"
    ]


async def test_dropping_a_datasource_removes_it_everywhere_and_it_can_start_again(
    app: App,
) -> None:
    content = sales_csv(rows=12, seed=71)
    first = await upload(app.client, content=content, datasource="sales_q1")
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"
    kept = await upload(app.client, content=OTHER, datasource="readings")
    await wait_for_task(app.client, kept.json()["task_id"])
    assert any("sales_q1" in key for key in await stored_keys(app.runtime, "datasets"))

    viewer = app.client_as(await make_token(app.runtime, Role.VIEWER))
    async with viewer:
        refused = await viewer.delete("/api/datasources/sales_q1")
    assert refused.status_code == 403

    dropped = await app.client.delete("/api/datasources/sales_q1")

    assert dropped.status_code == 200, dropped.text
    body = dropped.json()
    assert body["tasks_removed"] == 1 and body["objects_removed"] >= 2  # upload, dataset, ...
    assert not [k for k in await stored_keys(app.runtime, "datasets") if "/sales_q1/" in k]
    assert not [k for k in await stored_keys(app.runtime, "raw") if first.json()["task_id"] in k]
    names = {d["name"] for d in (await app.client.get("/api/datasources")).json()}
    assert "sales_q1" not in names and "readings" in names
    assert (await app.client.get("/api/datasources/sales_q1")).status_code == 404
    tasks = (await app.client.get("/api/ingest/tasks?datasource=sales_q1")).json()
    assert tasks["total"] == 0
    logged = (await app.client.get("/api/access-logs?action=drop_datasource")).json()
    assert [e["target"] for e in logged["data"]["items"]] == ["sales_q1"], logged
    # the same bytes load again: nothing of the dropped datasource is remembered
    again = await upload(app.client, content=content, datasource="sales_q1")
    assert again.status_code == 202, again.text
    assert (await wait_for_task(app.client, again.json()["task_id"]))["status"] == "succeeded"


async def test_a_datasource_is_not_dropped_while_an_upload_of_it_runs(app: App) -> None:
    accepted = await upload(app.client, content=sales_csv(rows=20_000, seed=72), datasource="busy")
    response = await app.client.post(
        "/graphql", json={"query": 'mutation { dropDatasource(name: "busy") { tasksRemoved } }'}
    )
    body = response.json()
    done = await wait_for_task(app.client, accepted.json()["task_id"])
    if done["status"] == "succeeded" and "errors" not in body:
        return  # the upload had ended already: nothing to refuse (a fast machine)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT", body
    assert "Cancel" in body["errors"][0]["extensions"]["detail"]
    gone = await app.client.post(
        "/graphql", json={"query": 'mutation { dropDatasource(name: "busy") { tasksRemoved } }'}
    )
    assert gone.json()["data"]["dropDatasource"]["tasksRemoved"] == 1
    unknown = await app.client.post(
        "/graphql", json={"query": 'mutation { dropDatasource(name: "busy") { tasksRemoved } }'}
    )
    assert unknown.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"

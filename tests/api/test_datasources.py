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
    assert one.json()["storage_prefix"] == "datasets/readings/" and one.json()["created_at"]
    assert one.json()["druid_datasource"] is None and one.json()["schema_version"] == 1
    missing = await app.client.get("/api/datasources/nothing_here")
    assert missing.status_code == 404, missing.text
    graphql = await app.client.post(
        "/graphql", json={"query": "{ datasources { name contract rowCount } }"}
    )
    assert {"name": "readings", "contract": "inferred", "rowCount": 2} in graphql.json()["data"][
        "datasources"
    ]
    detail = await app.client.post(
        "/graphql",
        json={
            "query": '{ datasource(name: "readings") { schemaVersion createdAt storagePrefix '
            "druidDatasource recentTasks(first: 2) { datasource status rowsValid } } }"
        },
    )
    shown = detail.json()["data"]["datasource"]
    assert shown["recentTasks"] == [
        {"datasource": "readings", "status": "SUCCEEDED", "rowsValid": 2}
    ]
    assert shown["storagePrefix"] == "datasets/readings/" and shown["createdAt"]
    too_many = await app.client.post(
        "/graphql",
        json={"query": '{ datasource(name: "readings") { recentTasks(first: 5000) { status } } }'},
    )
    assert too_many.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


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


DECLARED = {
    "name": "orders",
    "contract": "declared",
    "columns": [
        {"name": "sku", "type": "string", "allowed": ["A1", "B2", "C3"]},
        {"name": "qty", "type": "integer", "minimum": 1, "maximum": 100},
        {"name": "price", "type": "float", "minimum": 0},
        {"name": "day", "type": "date"},
        {"name": "note", "type": "string", "required": False},
    ],
    "time_column": "day",
    "unique_key": "sku",
}


async def test_a_declared_contract_checks_every_upload_with_line_numbers(app: App) -> None:
    created = await app.client.post("/api/datasources", json=DECLARED)
    assert created.status_code == 201, created.text
    assert created.json()["contract"] == "declared" and created.json()["row_count"] == 0
    again = await app.client.post("/api/datasources", json=DECLARED)
    assert again.status_code == 409, again.text

    bad = (
        b"sku,qty,price,day,note\n"
        b"A1,2,9.5,2024-01-01,\n"  # line 2: fine
        b"Z9,2,9.5,2024-01-02,x\n"  # line 3: sku not allowed
        b"B2,0,9.5,2024-01-03,\n"  # line 4: qty below 1
        b"C3,5,-1,2024-01-04,\n"  # line 5: negative price
    )
    task = await wait_for_task(
        app.client, (await upload(app.client, content=bad, datasource="orders")).json()["task_id"]
    )
    assert task["status"] == "failed", task
    failed = {(c["column"], s["row"]) for c in task["report"]["checks"] for s in c["samples"]}
    assert {("sku", 3), ("qty", 4), ("price", 5)} <= failed, task["report"]["checks"]

    good = b"sku,qty,price,day,note\nA1,2,9.5,2024-01-01,\nB2,3,1.25,2024-01-02,gift\n"
    loaded = await wait_for_task(
        app.client, (await upload(app.client, content=good, datasource="orders")).json()["task_id"]
    )
    assert loaded["status"] == "succeeded", loaded
    described = (await app.client.get("/api/datasources/orders")).json()
    assert described["contract"] == "declared" and described["row_count"] == 2
    # the unique key holds across uploads, as for sales
    repeat = b"sku,qty,price,day,note\nA1,9,1.0,2024-02-01,\n"
    repeated = await wait_for_task(
        app.client,
        (await upload(app.client, content=repeat, datasource="orders")).json()["task_id"],
    )
    assert repeated["status"] == "failed", repeated


async def test_a_declaration_that_makes_no_sense_is_refused_with_the_reason(app: App) -> None:
    cases = [
        ({"columns": []}, "needs its columns"),
        ({"time_column": "sku"}, "not a declared date or datetime column"),
        ({"unique_key": "nope"}, "not a declared column"),
        ({"columns": [{"name": "qty", "type": "integer", "minimum": 5, "maximum": 1}]}, "above"),
        ({"columns": [{"name": "n", "type": "integer", "allowed": ["1"]}]}, "string columns"),
        ({"columns": [{"name": "__time", "type": "date"}]}, "'__'"),
        ({"contract": "inferred"}, None),
    ]
    for change, said in cases:
        body = {**DECLARED, "name": "broken", "time_column": None, "unique_key": None} | change
        response = await app.client.post("/api/datasources", json=body)
        assert response.status_code == 422, (change, response.text)
        if said:
            assert said in response.text, (change, response.text)
    viewer = app.client_as(await make_token(app.runtime, Role.VIEWER))
    async with viewer:
        assert (await viewer.post("/api/datasources", json=DECLARED)).status_code == 403


async def test_create_datasource_over_graphql(app: App) -> None:
    mutation = """mutation { createDatasource(name: "visits", contract: DECLARED,
        columns: [{name: "page", type: STRING, allowed: ["home", "shop"]},
                  {name: "at", type: DATETIME}, {name: "ms", type: INTEGER, minimum: 0}],
        timeColumn: "at") { name contract rowCount columns { name type } } }"""
    created = (await app.client.post("/graphql", json={"query": mutation})).json()
    assert created["data"]["createDatasource"]["contract"] == "declared", created
    assert [c["name"] for c in created["data"]["createDatasource"]["columns"]] == [
        "page",
        "at",
        "ms",
    ]
    refused = (await app.client.post("/graphql", json={"query": mutation})).json()
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    rows = b"page,at,ms\nhome,2024-01-01T10:00:00,5\nshop,2024-01-01T10:00:01,-3\n"
    task = await wait_for_task(
        app.client, (await upload(app.client, content=rows, datasource="visits")).json()["task_id"]
    )
    assert task["status"] == "failed"
    assert ("ms", 3) in {
        (c["column"], s["row"]) for c in task["report"]["checks"] for s in c["samples"]
    }
    listed = await app.client.post("/graphql", json={"query": "{ datasources { name contract } }"})
    assert {"name": "visits", "contract": "declared"} in listed.json()["data"]["datasources"]


async def test_a_created_datasource_is_answered_as_it_is_read_afterwards(app: App) -> None:
    fields = "name contract storagePrefix createdAt schemaVersion columns { name type }"
    create = f'mutation {{ createDatasource(name: "eu", contract: SALES) {{ {fields} }} }}'
    created = (await app.client.post("/graphql", json={"query": create})).json()
    read = f'{{ datasource(name: "eu") {{ {fields} }} }}'
    again = (await app.client.post("/graphql", json={"query": read})).json()
    assert created["data"]["createDatasource"] == again["data"]["datasource"], created
    assert created["data"]["createDatasource"]["storagePrefix"]
    assert created["data"]["createDatasource"]["createdAt"]
    rest = await app.client.post("/api/datasources", json={"name": "asia", "contract": "sales"})
    assert rest.status_code == 201, rest.text
    assert rest.json() == (await app.client.get("/api/datasources/asia")).json()
    assert rest.json()["storage_prefix"] and rest.json()["created_at"]

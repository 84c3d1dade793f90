"""Schema drift and evolution: an upload whose file differs from its datasource's schema is told
each difference and how to load it; `evolve=add_columns|widen` applies it in the same upload;
`updateDatasourceContract` / PATCH evolve a contract ahead. Rows already loaded stay and read
as the new version (an added column empty, a widened column float)."""

from __future__ import annotations

from typing import Any

from backend.auth.roles import Role
from tests.conftest import App, make_token
from tests.factories import sales_csv, upload, wait_for_task

FIRST = b"day,amount,label\n2024-01-01,1,x\n2024-01-02,2,y\n"
WITH_DISCOUNT = b"day,amount,label,discount\n2024-01-03,3,z,0.5\n2024-01-04,4,w,\n"
WITH_DECIMALS = b"day,amount,label,discount\n2024-01-05,5.25,v,1.5\n2024-01-06,6,u,2\n"


async def _load(app: App, content: bytes, **extra: str) -> dict[str, Any]:
    accepted = await upload(app.client, content=content, datasource="readings", extra=extra)
    assert accepted.status_code == 202, accepted.text
    return await wait_for_task(app.client, accepted.json()["task_id"])


async def _table(app: App, measures: str) -> list[Any]:
    response = await app.client.post(
        "/graphql",
        json={
            "query": f'{{ analytics(query: {{datasource: "readings", measures: [{measures}]}}) {{ rows }} }}'
        },
    )
    body = response.json()
    assert "errors" not in body, body
    rows: list[Any] = body["data"]["analytics"]["rows"][0]
    return rows


async def test_a_new_column_is_named_with_the_resolution_then_added_by_evolve(app: App) -> None:
    assert (await _load(app, FIRST))["status"] == "succeeded"

    drifted = await _load(app, WITH_DISCOUNT)

    assert drifted["status"] == "failed"
    assert drifted["error"]["code"] == "schema_mismatch"
    assert "evolve=add_columns" in drifted["error"]["detail"]
    (offer,) = drifted["report"]["schema_problems"]["changes"]
    assert offer == {
        "column": "discount",
        "kind": "add_column",
        "applied": False,
        "resolution": offer["resolution"],
    }
    assert "evolve=add_columns" in offer["resolution"]

    evolved = await _load(app, WITH_DISCOUNT, evolve="add_columns")

    assert evolved["status"] == "succeeded", evolved["error"]
    assert evolved["report"]["schema_problems"]["changes"] == [
        {"column": "discount", "kind": "add_column", "applied": True, "resolution": None}
    ]
    # every row is served, the earlier ones without a discount
    rows, discounts, total = await _table(
        app,
        '{aggregate: COUNT}, {aggregate: COUNT, column: "discount"}, '
        '{aggregate: SUM, column: "discount"}',
    )
    assert (rows, discounts, total) == (4, 1, 0.5)
    one = (await app.client.get("/api/datasources/readings")).json()
    assert one["schema_version"] == 2 and "discount" in one["columns"]
    (version,) = one["schema_versions"]
    assert version["version"] == 2 and version["by"] == f"upload {evolved['task_id']}"
    assert version["changes"] == [{"column": "discount", "kind": "add_column", "type": "float"}]
    # Retrying the upload that failed would load the same bytes a second time: refused.
    retried = await app.client.post(f"/api/ingest/tasks/{drifted['task_id']}/retry")
    assert retried.status_code == 409, retried.text
    assert evolved["task_id"] in retried.json()["error"]
    assert await _table(app, "{aggregate: COUNT}") == [4]
    # the next file with that column loads without evolve, and so does one without it
    assert (await _load(app, WITH_DISCOUNT.replace(b"2024-01-0", b"2024-02-0")))[
        "status"
    ] == "succeeded"
    without = await _load(app, FIRST.replace(b"2024-01-0", b"2024-03-0"))
    assert without["status"] == "succeeded", without["error"]
    assert await _table(app, '{aggregate: COUNT}, {aggregate: COUNT, column: "discount"}') == [8, 2]


async def test_decimals_in_an_integer_column_offer_widen_which_keeps_earlier_rows(
    app: App,
) -> None:
    assert (await _load(app, FIRST))["status"] == "succeeded"
    assert (await _load(app, WITH_DISCOUNT, evolve="add_columns"))["status"] == "succeeded"

    refused = await _load(app, WITH_DECIMALS)

    assert refused["status"] == "failed"
    assert "evolve=widen" in refused["error"]["detail"]
    offers = refused["report"]["schema_problems"]["changes"]
    assert [(o["column"], o["kind"], o["applied"]) for o in offers] == [("amount", "widen", False)]
    line = next(c for c in refused["report"]["checks"] if c["column"] == "amount")
    assert line["samples"] == [{"row": 2, "value": "5.25"}]

    widened = await _load(app, WITH_DECIMALS, evolve="widen")

    assert widened["status"] == "succeeded", widened["error"]
    (total,) = await _table(app, '{aggregate: SUM, column: "amount"}')
    assert total == 1 + 2 + 3 + 4 + 5.25 + 6
    columns = (await app.client.get("/api/datasources/readings")).json()["columns"]
    assert columns["amount"] == "Float64"


async def test_evolve_is_refused_where_the_contract_is_fixed(app: App) -> None:
    refused = await upload(
        app.client,
        content=sales_csv(rows=5, seed=90),
        datasource="sales",
        extra={"evolve": "widen"},
    )
    assert refused.status_code == 409, refused.text
    assert "fixed" in refused.json()["detail"]
    unknown = await upload(
        app.client, content=FIRST, datasource="readings", extra={"evolve": "all"}
    )
    assert unknown.status_code == 422 and "evolve" in unknown.json()["error"]


async def test_a_declared_contract_evolves_ahead_of_the_files(app: App) -> None:
    created = await app.client.post(
        "/api/datasources",
        json={
            "name": "meters",
            "contract": "declared",
            "columns": [
                {"name": "day", "type": "date"},
                {"name": "reading", "type": "integer", "minimum": 0},
            ],
            "time_column": "day",
        },
    )
    assert created.status_code == 201, created.text
    before = await upload(app.client, content=b"day,reading\n2024-01-01,3\n", datasource="meters")
    assert (await wait_for_task(app.client, before.json()["task_id"]))["status"] == "succeeded"

    mutation = """mutation { updateDatasourceContract(name: "meters",
        addColumns: [{name: "site", type: STRING, allowed: ["north", "south"]}], widen: ["reading"])
        { schemaVersion changes { column kind type } columns { name type } } }"""
    response = await app.client.post("/graphql", json={"query": mutation})

    body = response.json()
    assert "errors" not in body, body
    update = body["data"]["updateDatasourceContract"]
    assert update["schemaVersion"] == 2
    assert update["changes"] == [
        {"column": "reading", "kind": "widen", "type": "float"},
        {"column": "site", "kind": "add_column", "type": "string"},
    ]
    # the new column's allowed values are checked; the widened one takes decimals
    bad = await upload(
        app.client, content=b"day,reading,site\n2024-01-02,2.5,east\n", datasource="meters"
    )
    failed = await wait_for_task(app.client, bad.json()["task_id"])
    assert failed["status"] == "failed"
    assert [(c["column"], c["samples"][0]["row"]) for c in failed["report"]["checks"]] == [
        ("site", 2)
    ]
    good = await upload(
        app.client, content=b"day,reading,site\n2024-01-02,2.5,north\n", datasource="meters"
    )
    assert (await wait_for_task(app.client, good.json()["task_id"]))["status"] == "succeeded"
    # a file may leave out a column added after rows were loaded (it is empty in its rows)
    old_shape = await upload(
        app.client, content=b"day,reading\n2024-01-03,4\n", datasource="meters"
    )
    assert (await wait_for_task(app.client, old_shape.json()["task_id"]))["status"] == "succeeded"
    listed = await app.client.post(
        "/graphql",
        json={"query": '{ datasource(name: "meters") { schemaVersion schemaVersions { by } } }'},
    )
    assert listed.json()["data"]["datasource"] == {
        "schemaVersion": 2,
        "schemaVersions": [{"by": "test-admin"}],
    }
    logged = (await app.client.get("/api/access-logs?action=update_datasource_contract")).json()
    assert [e["target"] for e in logged["data"]["items"]] == ["meters"]


async def test_changes_that_would_break_loaded_rows_are_refused_with_the_reason(app: App) -> None:
    assert (await _load(app, FIRST))["status"] == "succeeded"

    async def patch(body: dict[str, Any]) -> tuple[int, str]:
        response = await app.client.patch("/api/datasources/readings", json=body)
        return response.status_code, response.json().get("error", "")

    assert await patch({"widen": ["label"]}) == (
        422,
        "column 'label' is string: only integer columns can be widened (to float)",
    )
    status, message = await patch({"add_columns": [{"name": "day", "type": "date"}]})
    assert (status, message) == (409, "column 'day' exists already")
    status, message = await patch({"widen": ["nope"]})
    assert status == 422 and "not in the datasource" in message
    status, message = await patch(
        {"add_columns": [{"name": "x", "type": "string", "allowed": ["a"]}]}
    )
    assert status == 422 and "types only" in message
    status, _ = await patch({})
    assert status == 422
    sales = await app.client.patch("/api/datasources/sales", json={"widen": ["Quantity"]})
    assert sales.status_code in (404, 409)
    viewer = app.client_as(await make_token(app.runtime, Role.VIEWER))
    async with viewer:
        forbidden = await viewer.patch("/api/datasources/readings", json={"widen": ["amount"]})
    assert forbidden.status_code == 403
    ok = await app.client.patch("/api/datasources/readings", json={"widen": ["amount"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["schema_version"] == 2 and ok.json()["columns"]["amount"] == "float"


async def test_a_column_added_ahead_is_listed_before_any_file_has_it(app: App) -> None:
    assert (await _load(app, FIRST))["status"] == "succeeded"
    patched = await app.client.patch(
        "/api/datasources/readings", json={"add_columns": [{"name": "note", "type": "string"}]}
    )
    assert patched.status_code == 200, patched.text
    listed = (await app.client.get("/api/datasources/readings")).json()
    assert listed["schema_version"] == 2
    assert list(listed["columns"])[-1] == "note" and listed["columns"]["note"] == "String"

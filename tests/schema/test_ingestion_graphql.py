"""GraphQL: the multipart upload mutation (with its CSRF preflight rule) and the task queries."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import App
from tests.factories import sales_csv, stored_keys, task_count, upload, wait_for_task

UPLOAD = """
mutation Upload($file: Upload!, $name: String!) {
  uploadSalesData(file: $file, dataSourceName: $name) {
    taskId status statusUrl duplicate task { datasource filename sizeBytes }
  }
}
"""
TASK = """
query Task($id: ID!) {
  ingestionTask(taskId: $id) {
    taskId status datasource filename rowsRead rowsValid rowsRejected error { code message detail }
    createdAt updatedAt events { at status message }
  }
}
"""


async def graphql_upload(
    client: httpx.AsyncClient, content: bytes, name: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    operations = {"query": UPLOAD, "variables": {"file": None, "name": name}}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("sales.csv", content, "text/csv")},
        headers=headers if headers is not None else {"GraphQL-Preflight": "1"},
    )


async def query(client: httpx.AsyncClient, text: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": text, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_upload_mutation_queues_a_task_that_the_query_follows_to_success(app: App) -> None:
    response = await graphql_upload(app.client, sales_csv(rows=25), "sales")
    assert response.status_code == 200, response.text
    result = response.json()["data"]["uploadSalesData"]
    assert result["status"] == "QUEUED" and result["duplicate"] is False
    assert result["task"] == {
        "datasource": "sales",
        "filename": "sales.csv",
        "sizeBytes": len(sales_csv(rows=25)),
    }

    await wait_for_task(app.client, result["taskId"])
    task = (await query(app.client, TASK, id=result["taskId"]))["data"]["ingestionTask"]
    assert task["status"] == "SUCCEEDED"
    assert (task["rowsRead"], task["rowsValid"], task["rowsRejected"]) == (25, 25, 0)
    assert task["error"] is None
    assert [e["status"] for e in task["events"]][-1] == "SUCCEEDED"


async def test_apollo_preflight_header_is_accepted_too(app: App) -> None:
    response = await graphql_upload(
        app.client, sales_csv(rows=3), "sales", headers={"Apollo-Require-Preflight": "true"}
    )
    assert response.status_code == 200 and "errors" not in response.json()


async def test_multipart_without_preflight_header_is_refused_with_a_clear_400(app: App) -> None:
    response = await graphql_upload(app.client, sales_csv(rows=3), "sales", headers={})

    assert response.status_code == 400
    assert "preflight" in response.json()["error"]
    assert "GraphQL-Preflight" in response.json()["detail"]
    assert await task_count(app.client) == 0
    assert await stored_keys(app.runtime) == []


async def test_upload_errors_are_typed_and_leave_nothing(app: App) -> None:
    bad_name = (await graphql_upload(app.client, sales_csv(rows=3), "9lives")).json()
    assert bad_name["data"] is None
    assert bad_name["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "letter" in bad_name["errors"][0]["extensions"]["detail"]

    junk = (await graphql_upload(app.client, bytes(range(256)) * 10, "sales")).json()
    assert junk["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert junk["errors"][0]["extensions"]["status"] == 415

    assert await task_count(app.client) == 0
    assert await stored_keys(app.runtime) == []


async def test_unknown_task_is_a_not_found_error_and_tasks_list_filters(app: App) -> None:
    missing = await query(app.client, TASK, id="does-not-exist")
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "does-not-exist" in missing["errors"][0]["message"]

    for index, name in enumerate(["sales", "returns"]):
        response = await graphql_upload(app.client, sales_csv(rows=2, seed=index), name)
        await wait_for_task(app.client, response.json()["data"]["uploadSalesData"]["taskId"])
    listed = await query(
        app.client,
        "query($ds: String) { ingestionTasks(datasource: $ds, status: SUCCEEDED) { datasource status } }",
        ds="returns",
    )
    assert listed["data"]["ingestionTasks"] == [{"datasource": "returns", "status": "SUCCEEDED"}]


async def test_unexpected_errors_are_masked(app: App) -> None:
    uploaded = await graphql_upload(app.client, sales_csv(rows=2), "sales")
    # The task done first: a DROP TABLE racing the worker's writes deadlocked on PostgreSQL.
    await wait_for_task(app.client, uploaded.json()["data"]["uploadSalesData"]["taskId"])
    async with app.runtime.engine.begin() as connection:  # a real database failure, not a mock
        await connection.execute(text("DROP TABLE ingestion_task_events"))

    response = await app.client.post("/graphql", json={"query": "{ ingestionTasks { taskId } }"})

    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error."
    assert "code" not in (error.get("extensions") or {})  # not the client's mistake
    assert "ingestion_task_events" not in response.text


async def test_report_is_typed_in_graphql(app: App) -> None:
    lines = sales_csv(rows=10).decode().splitlines()
    lines[2] = lines[2].replace(",Member,", ",VIP,").replace(",Normal,", ",VIP,")
    operations = {
        "query": """mutation($file: Upload!) { uploadSalesData(file: $file, dataSourceName: "sales",
            onInvalid: SKIP, maxInvalidRatio: 0.5) { taskId } }""",
        "variables": {"file": None},
    }
    response = await app.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("s.csv", ("\n".join(lines) + "\n").encode(), "text/csv")},
        headers={"GraphQL-Preflight": "1"},
    )
    task_id = response.json()["data"]["uploadSalesData"]["taskId"]
    await wait_for_task(app.client, task_id)
    result = await query(
        app.client,
        """query($id: ID!) { ingestionTask(taskId: $id) { status rejectedRowsUrl report {
            format encoding delimiter rowLabel rowsRead rowsValid rowsRejected timeColumn
            schemaProblems { missing extra }
            checks { column check message failed truncated samples { row value } } } } }""",
        id=task_id,
    )
    task = result["data"]["ingestionTask"]
    report = task["report"]
    assert task["status"] == "SUCCEEDED" and task["rejectedRowsUrl"].endswith(
        f"/{task_id}/rejected"
    )
    assert (report["format"], report["encoding"], report["delimiter"], report["rowLabel"]) == (
        "csv",
        "utf-8",
        ",",
        "line",
    )
    assert (report["rowsRead"], report["rowsValid"], report["rowsRejected"]) == (10, 9, 1)
    assert report["timeColumn"] == "Date + Time"
    assert report["checks"] == [
        {
            "column": "Customer type",
            "check": "isin(['Member', 'Normal'])",
            "message": "Customer type must be one of Member, Normal",
            "failed": 1,
            "truncated": False,
            "samples": [{"row": 3, "value": "VIP"}],
        }
    ]


async def test_upload_sales_data_checks_the_sales_contract_whatever_the_datasource_is_named(
    app: App,
) -> None:
    """Before: only a datasource named exactly `sales` was checked; `sales_eu` loaded a Quantity
    of 0 and an unknown branch as an inferred table."""
    lines = sales_csv(rows=10, seed=7).decode().splitlines()
    header = lines[0].split(",")
    bad = lines[3].split(",")
    bad[header.index("Quantity")] = "0"
    lines[3] = ",".join(bad)
    lines[5] = lines[5].replace(",A,", ",Z,").replace(",B,", ",Z,").replace(",C,", ",Z,")
    content = ("\n".join(lines) + "\n").encode()

    response = await graphql_upload(app.client, content, "sales_eu")
    task = await wait_for_task(app.client, response.json()["data"]["uploadSalesData"]["taskId"])
    assert task["status"] == "failed", task
    failed = {(c["column"], s["row"]) for c in task["report"]["checks"] for s in c["samples"]}
    assert ("Quantity", 4) in failed and ("Branch", 6) in failed, task["report"]["checks"]

    # The datasource took the sales contract with its first clean upload: Invoice IDs stay
    # unique across its uploads, as for `sales`.
    clean = sales_csv(rows=10, seed=8)
    first = await graphql_upload(app.client, clean, "sales_eu")
    done = await wait_for_task(app.client, first.json()["data"]["uploadSalesData"]["taskId"])
    assert done["status"] == "succeeded", done
    again = await upload(app.client, content=clean + b"\n", datasource="sales_eu")
    repeated = await wait_for_task(app.client, again.json()["task_id"])
    assert repeated["status"] == "failed", repeated
    assert "Invoice ID" in json.dumps(repeated["report"]["checks"])


async def test_upload_sales_data_to_a_datasource_with_another_contract_is_refused(app: App) -> None:
    other = b"when,amount,label\n2024-01-01,1.5,x\n2024-01-02,2.5,y\n"
    inferred = await upload(app.client, content=other, datasource="sensor_readings")
    assert (await wait_for_task(app.client, inferred.json()["task_id"]))["status"] == "succeeded"

    response = await graphql_upload(app.client, sales_csv(rows=5), "sensor_readings")

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "CONFLICT", error
    assert "inferred contract" in error["message"] and "sales contract" in error["message"]
    tasks = (await app.client.get("/api/ingest/tasks?datasource=sensor_readings")).json()
    assert len(tasks["items"]) == 1  # nothing queued, nothing staged


async def test_a_file_variable_without_a_file_or_a_file_mapped_twice_is_refused(app: App) -> None:
    # Found by a hostile test: a string as the file was a masked internal error, and one file
    # part mapped to two uploads left the second reading a consumed stream ("the file is empty")
    # while the first one's task was created and its answer lost.
    as_text = (
        await app.client.post(
            "/graphql", json={"query": UPLOAD, "variables": {"file": "abc", "name": "sales"}}
        )
    ).json()
    assert as_text["data"] is None
    assert as_text["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "no uploaded file" in as_text["errors"][0]["message"]

    twice = """
    mutation Two($a: Upload!, $b: Upload!) {
      one: uploadSalesData(file: $a, dataSourceName: "sales") { taskId }
      two: uploadSalesData(file: $b, dataSourceName: "sales_b") { taskId }
    }
    """
    operations = {"query": twice, "variables": {"a": None, "b": None}}
    response = await app.client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.a", "variables.b"]}),
        },
        files={"0": ("sales.csv", sales_csv(rows=3), "text/csv")},
        headers={"GraphQL-Preflight": "1"},
    )
    assert response.status_code == 400, response.text
    assert "more than one variable" in response.json()["error"]
    assert await task_count(app.client) == 0

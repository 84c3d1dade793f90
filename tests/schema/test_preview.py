"""GraphQL: uploadSalesData(dryRun: true) makes a preview (typed in the task's report), and
confirmPreview loads its stored file with overrides, refused in words when they do not fit."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import App
from tests.factories import sales_csv, wait_for_task

PREVIEW = """mutation($file: Upload!) { uploadSalesData(file: $file, dataSourceName: "sales",
  dryRun: true) { taskId message } }"""
TASK = """query($id: ID!) { ingestionTask(taskId: $id) { status dryRun
  overrides { types dateOrder rename drop }
  report { rowsValid outcome preview { timeColumn dateOrder rowsTotal rows
    columns { name sourceName type nullable samples distinctEstimate rule } } } } }"""
CONFIRM = """mutation($id: ID!, $input: PreviewConfirmInput!) {
  confirmPreview(taskId: $id, input: $input) { taskId duplicate message } }"""


async def _graphql(app: App, text: str, **variables: Any) -> dict[str, Any]:
    answer = await app.client.post("/graphql", json={"query": text, "variables": variables})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_preview_then_confirm_preview_loads_it(app: App) -> None:
    operations = {"query": PREVIEW, "variables": {"file": None}}
    answer = await app.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("s.csv", sales_csv(rows=12), "text/csv")},
        headers={"GraphQL-Preflight": "1"},
    )
    preview_id = answer.json()["data"]["uploadSalesData"]["taskId"]
    await wait_for_task(app.client, preview_id)

    task = (await _graphql(app, TASK, id=preview_id))["data"]["ingestionTask"]
    assert (task["status"], task["dryRun"]) == ("SUCCEEDED", True)
    assert task["report"]["outcome"] == "previewed"  # nothing was loaded
    preview = task["report"]["preview"]
    assert (preview["timeColumn"], preview["rowsTotal"], len(preview["rows"])) == ("Date", 12, 12)
    quantity = next(c for c in preview["columns"] if c["name"] == "Quantity")
    assert quantity["type"] == "integer" and not quantity["nullable"]
    assert "Quantity must be a whole number" in quantity["rule"]

    refused = await _graphql(
        app, CONFIRM, id=preview_id, input={"overrides": {"types": {"Quantity": "money"}}}
    )
    assert "not a column type" in refused["errors"][0]["message"], refused

    confirmed = await _graphql(
        app,
        CONFIRM,
        id=preview_id,
        input={"overrides": {"types": {"Quantity": "integer"}, "drop": []}},
    )
    assert "errors" not in confirmed, confirmed
    loaded_id = confirmed["data"]["confirmPreview"]["taskId"]
    await wait_for_task(app.client, loaded_id)
    loaded = (await _graphql(app, TASK, id=loaded_id))["data"]["ingestionTask"]
    assert (loaded["status"], loaded["dryRun"]) == ("SUCCEEDED", False)
    assert loaded["overrides"]["types"] == {"Quantity": "integer"}
    assert loaded["report"]["preview"] is None
    sales = (await app.client.get("/api/datasources/sales")).json()
    assert sales["row_count"] == 12


async def test_a_confirmation_out_of_shape_is_refused_in_words(app: App) -> None:
    refused = await _graphql(app, CONFIRM, id="0" * 32, input={"overrides": {"drop": ["x"] * 1001}})

    assert "not in the expected shape" in refused["errors"][0]["message"], refused

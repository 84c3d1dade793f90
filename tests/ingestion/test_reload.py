"""Advice as data, taken at each door: a failed task and a duplicate upload carry remedies, REST
words them with its form fields and GraphQL with its arguments, and a task's stored file loads
again as a new task with the remedy's options (POST .../reload, reloadIngestionTask)."""

from __future__ import annotations

import json
from typing import Any

from backend.auth.roles import Role
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task

READINGS = b"day,amount\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n"
GRAPHQL_TASK = """
query Task($id: ID!) {
  ingestionTask(taskId: $id) {
    status rowsValid error { code detail plainDetail remedies { action options advice } }
  }
}
"""
GRAPHQL_UPLOAD = """
mutation Upload($file: Upload!) {
  uploadSalesData(file: $file, dataSourceName: "sales") {
    taskId duplicate message remedies { action options advice }
  }
}
"""
GRAPHQL_RELOAD = """
mutation Reload($id: ID!) {
  reloadIngestionTask(taskId: $id, onInvalid: SKIP) { taskId duplicate task { status } }
}
"""


def one_bad_quantity(rows: int = 12) -> bytes:
    lines = sales_csv(rows=rows, seed=21).decode().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("Quantity")] = "0"
    lines[3] = ",".join(row)
    return ("\n".join(lines) + "\n").encode()


async def graphql(app: App, query: str, **variables: Any) -> dict[str, Any]:
    answer = await app.client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = answer.json()
    assert answer.status_code == 200 and "errors" not in body, body
    return body["data"]


async def failed_upload(app: App, content: bytes | None = None) -> dict[str, Any]:
    accepted = await upload(app.client, content=content or one_bad_quantity())
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "failed", task
    return task


async def test_invalid_rows_offer_skipping_worded_by_each_door_and_taken_by_reload(
    app: App,
) -> None:
    failed = await failed_upload(app)

    error = failed["error"]
    assert [(r["action"], r["options"]) for r in error["remedies"]] == [
        ("skip_invalid", {"on_invalid": "skip"})
    ]
    assert "on_invalid=skip" in error["detail"]
    seen = (await graphql(app, GRAPHQL_TASK, id=failed["task_id"]))["ingestionTask"]["error"]
    assert "onInvalid: SKIP" in seen["detail"] and "on_invalid" not in seen["detail"]
    assert seen["remedies"][0]["action"] == "skip_invalid"
    assert "on_invalid" not in seen["plainDetail"] and "onInvalid" not in seen["plainDetail"]
    assert seen["plainDetail"].startswith("Fix the rows listed")

    again = await app.client.post(
        f"/api/ingest/tasks/{failed['task_id']}/reload", json={"on_invalid": "skip"}
    )

    assert again.status_code == 202, again.text
    reloaded = await wait_for_task(app.client, again.json()["task_id"])
    assert reloaded["task_id"] != failed["task_id"]
    assert reloaded["status"] == "succeeded", reloaded["error"]
    assert (reloaded["rows_valid"], reloaded["rows_rejected"]) == (11, 1)
    kept = await wait_for_task(app.client, failed["task_id"])
    assert kept["status"] == "failed"  # the first task stays as it ended


async def test_a_duplicate_offers_force_and_reloading_with_it_loads_the_file_again(
    app: App,
) -> None:
    first = await upload(app.client, content=READINGS, datasource="readings")
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"

    duplicate = await upload(app.client, content=READINGS, datasource="readings")

    assert duplicate.status_code == 200
    said = duplicate.json()
    assert said["duplicate"] is True and "force=true" in said["message"]
    assert said["remedies"] == [
        {"action": "force", "options": {"force": True}, "advice": said["remedies"][0]["advice"]}
    ]
    assert "force=true" in said["remedies"][0]["advice"]
    unforced = await app.client.post(f"/api/ingest/tasks/{said['task_id']}/reload")
    assert unforced.status_code == 200 and unforced.json()["duplicate"] is True

    forced = await app.client.post(
        f"/api/ingest/tasks/{said['task_id']}/reload", json={"force": True}
    )

    assert forced.status_code == 202, forced.text
    task = await wait_for_task(app.client, forced.json()["task_id"])
    assert task["status"] == "succeeded" and task["rows_valid"] == 3
    rows = (await app.client.get("/api/datasources/readings")).json()["row_count"]
    assert rows == 6


async def test_graphql_words_the_duplicate_with_its_arguments_and_reloads(app: App) -> None:
    content = sales_csv(rows=5, seed=3)
    first = await upload(app.client, content=content)
    await wait_for_task(app.client, first.json()["task_id"])
    operations = {"query": GRAPHQL_UPLOAD, "variables": {"file": None}}

    answer = await app.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("sales.csv", content, "text/csv")},
        headers={"GraphQL-Preflight": "1"},
    )

    said = answer.json()["data"]["uploadSalesData"]
    assert said["duplicate"] is True
    assert "force: true" in said["message"] and "force=true" not in said["message"]
    assert said["remedies"][0]["action"] == "force"
    assert "force: true" in said["remedies"][0]["advice"]
    failed = await failed_upload(app)
    reloaded = (await graphql(app, GRAPHQL_RELOAD, id=failed["task_id"]))["reloadIngestionTask"]
    assert reloaded["duplicate"] is False and reloaded["taskId"] != failed["task_id"]
    assert (await wait_for_task(app.client, reloaded["taskId"]))["status"] == "succeeded"


async def test_reload_follows_the_upload_rules_uploader_or_admin_and_a_known_task(
    app: App,
) -> None:
    failed = await failed_upload(app)
    path = f"/api/ingest/tasks/{failed['task_id']}/reload"
    viewer = app.client_as(await app.token(Role.VIEWER))
    other = app.client_as(await app.token(Role.UPLOADER))

    assert (await app.client_as(None).post(path)).status_code == 401
    assert (await viewer.post(path)).status_code == 403
    refused = await other.post(path, json={"on_invalid": "skip"})
    assert refused.status_code == 403 and "someone else" in refused.json()["error"]
    missing = await app.client.post("/api/ingest/tasks/nope/reload")
    assert missing.status_code == 404
    bad = await app.client.post(path, json={"on_invalid": "maybe"})
    assert bad.status_code == 422


async def test_a_refused_retry_carries_the_force_remedy_in_the_rest_and_graphql_errors(
    app: App,
) -> None:
    failed = await failed_upload(app)
    again = await app.client.post(
        f"/api/ingest/tasks/{failed['task_id']}/reload", json={"on_invalid": "skip"}
    )
    await wait_for_task(app.client, again.json()["task_id"])

    refused = await app.client.post(f"/api/ingest/tasks/{failed['task_id']}/retry")

    assert refused.status_code == 409
    body = refused.json()
    assert body["remedies"] == [{"action": "force", "options": {"force": True}}]
    assert "force=true" in body["detail"]
    answer = await app.client.post(
        "/graphql",
        json={
            "query": "mutation($id: ID!) { retryIngestionTask(taskId: $id) { status } }",
            "variables": {"id": failed["task_id"]},
        },
    )
    (error,) = answer.json()["errors"]
    assert error["extensions"]["remedies"] == body["remedies"]
    assert "force: true" in error["extensions"]["detail"]
    assert "force=true" not in error["extensions"]["detail"]
    plain = await app.client.post("/api/ingest/tasks/nope/retry")
    assert "remedies" not in plain.json()  # absent where nothing is offered


async def test_reload_copies_the_stored_file_whatever_max_upload_mb_says_now(app: App) -> None:
    content = one_bad_quantity(rows=15_000)
    assert len(content) > 1024 * 1024
    failed = await failed_upload(app, content)
    app.runtime.settings.max_upload_mb = 1  # lowered since: the file came in once already

    again = await app.client.post(
        f"/api/ingest/tasks/{failed['task_id']}/reload", json={"on_invalid": "skip"}
    )

    assert again.status_code == 202, again.text
    accepted = again.json()
    assert (accepted["size_bytes"], accepted["sha256"]) == (len(content), failed["sha256"])
    reloaded = await wait_for_task(app.client, accepted["task_id"], timeout=120)
    assert reloaded["status"] == "succeeded", reloaded["error"]
    assert (reloaded["rows_valid"], reloaded["rows_rejected"]) == (14_999, 1)
    stored = await app.runtime.store.list_prefix(f"raw/{accepted['task_id']}/")
    assert [o.size for o in stored if not o.key.endswith("_rejected.csv")] == [len(content)]

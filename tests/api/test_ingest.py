"""REST upload and task endpoints, on SQLite + local folder and on PostgreSQL + S3."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import update

from backend.auth.roles import Role
from backend.db import session_scope
from backend.ingestion import acceptance
from backend.ingestion.service import StagedUpload
from backend.tasks.models import IngestionTask, TaskStatus
from tests.conftest import App, app_for, make_backend
from tests.factories import (
    read_dataset,
    sales_csv,
    stored_keys,
    task_count,
    upload,
    wait_for_task,
    xlsx_bytes,
)


async def test_upload_is_processed_into_parquet_with_the_rows_of_the_file(app: App) -> None:
    content = sales_csv(rows=120)
    response = await upload(app.client, content=content)

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["status_url"].endswith(f"/api/ingest/status/{accepted['task_id']}")
    assert accepted["size_bytes"] == len(content)

    task = await wait_for_task(app.client, accepted["task_id"])
    assert task["status"] == "succeeded", task
    assert (task["rows_read"], task["rows_valid"], task["rows_rejected"]) == (120, 120, 0)
    assert [e["status"] for e in task["events"]] == ["queued", "validating", "loading", "succeeded"]
    dataset = await read_dataset(app.runtime.store, f"datasets/sales/{accepted['task_id']}.parquet")
    assert dataset.height == 120
    assert dataset["Invoice ID"][0] == content.split(b"\n")[1].split(b",")[0].decode()
    assert dataset["Quantity"].dtype.is_integer()


async def test_file_over_the_limit_is_refused_while_streaming_and_leaves_nothing(app: App) -> None:
    app.runtime.settings.max_upload_mb = 1
    response = await upload(app.client, content=sales_csv(rows=10_000))  # ~1.3 MB

    assert response.status_code == 413
    assert "MAX_UPLOAD_MB" in response.json()["detail"]
    assert await stored_keys(app.runtime) == []
    assert await task_count(app.client) == 0


@pytest.mark.parametrize(
    ("filename", "content", "looks_like"),
    [
        ("data.csv", bytes(range(256)) * 64, "binary data"),
        ("data.xlsx", b"PK\x03\x04" + b"\x00" * 26 + b"notes.txt" + b"hello" * 100, "zip archive"),
        ("data.csv", b"%PDF-1.7\n" + bytes(range(256)) * 8, "PDF"),
        ("data.parquet", b"\x1f\x8b\x08\x00" + b"\x00" * 100, "gzip"),
    ],
)
async def test_content_that_is_not_a_supported_format_is_refused_by_its_bytes(
    app: App, filename: str, content: bytes, looks_like: str
) -> None:
    response = await upload(app.client, content=content, filename=filename)

    assert response.status_code == 415, response.text
    assert looks_like in response.json()["error"]
    assert "CSV" in response.json()["detail"]
    assert await stored_keys(app.runtime) == []
    assert await task_count(app.client) == 0


async def test_a_real_zip_named_xlsx_is_refused_but_a_workbook_is_accepted(app: App) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    refused = await upload(app.client, content=buffer.getvalue(), filename="data.xlsx")
    assert refused.status_code == 415

    lines = sales_csv(rows=5).decode().splitlines()
    workbook = xlsx_bytes(rows=[line.split(",") for line in lines])
    accepted = await upload(app.client, content=workbook, filename="renamed.bin")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["file_format"] == "xlsx"
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "succeeded" and task["rows_read"] == 5


@pytest.mark.parametrize("name", ["1sales", "sales-data", "", "a" * 65, "sales data", "ventes_é"])
async def test_invalid_datasource_name_is_422_and_leaves_nothing(app: App, name: str) -> None:
    response = await upload(app.client, content=sales_csv(rows=3), datasource=name)

    assert response.status_code == 422, response.text
    assert "datasource" in response.json()["error"]
    assert "letter" in response.json()["detail"] or "required" in response.json()["error"]
    assert await stored_keys(app.runtime) == []
    assert await task_count(app.client) == 0


async def test_datasource_field_sent_before_the_file_is_checked_before_storing(app: App) -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="datasource_name"\r\n\r\nbad name\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        + sales_csv(rows=3)
        + b"\r\n--XyZ--\r\n"
    )
    response = await app.client.post(
        "/api/ingest/upload",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert response.status_code == 422
    assert await stored_keys(app.runtime) == []


async def test_missing_fields_and_empty_files_get_clear_422s(app: App) -> None:
    empty = await upload(app.client, content=b"")
    assert empty.status_code == 422 and "empty" in empty.json()["error"]

    no_name = await upload(app.client, content=sales_csv(rows=2), datasource=None)
    assert no_name.status_code == 422 and "datasource_name is required" in no_name.json()["error"]

    no_file = await app.client.post(
        "/api/ingest/upload", files={"other": ("x", b"1")}, data={"datasource_name": "s"}
    )
    assert no_file.status_code == 422 and "file" in no_file.json()["detail"]

    not_multipart = await app.client.post("/api/ingest/upload", json={"datasource_name": "sales"})
    assert (
        not_multipart.status_code == 415 and "multipart/form-data" in not_multipart.json()["error"]
    )

    bad_flag = await upload(app.client, content=sales_csv(rows=2), extra={"force": "maybe"})
    assert bad_flag.status_code == 422 and "force" in bad_flag.json()["error"]

    assert await stored_keys(app.runtime) == []
    assert await task_count(app.client) == 0


async def test_unknown_task_is_404_everywhere(app: App) -> None:
    for method, path in [
        ("GET", "/api/ingest/status/nope"),
        ("POST", "/api/ingest/tasks/nope/retry"),
        ("POST", "/api/ingest/tasks/nope/cancel"),
    ]:
        response = await app.client.request(method, path)
        assert response.status_code == 404, (path, response.text)
        assert "task" in response.json()["error"] and response.json()["detail"]


async def test_same_bytes_again_return_the_existing_task_unless_forced(app: App) -> None:
    content = sales_csv(rows=7)
    first = (await upload(app.client, content=content)).json()

    again = await upload(app.client, content=content, filename="renamed.csv")
    assert again.status_code == 200
    assert again.json()["task_id"] == first["task_id"] and again.json()["duplicate"] is True

    other_datasource = await upload(app.client, content=content, datasource="sales_copy")
    assert other_datasource.status_code == 202

    forced = await upload(app.client, content=content, extra={"force": "true"})
    assert forced.status_code == 202 and forced.json()["task_id"] != first["task_id"]

    for task_id in (first["task_id"], other_datasource.json()["task_id"]):
        assert (await wait_for_task(app.client, task_id))["status"] == "succeeded"
    # Forced, the same rows are a new task, refused row by row: their Invoice IDs are loaded.
    refused = await wait_for_task(app.client, forced.json()["task_id"])
    assert refused["status"] == "failed"
    assert {c["check"] for c in refused["report"]["checks"]} == {"already_loaded"}
    raw = [k for k in await stored_keys(app.runtime, "raw") if not k.endswith("_rejected.csv")]
    assert len(raw) == 3  # the refused duplicate's bytes were not kept


async def test_a_file_that_cannot_be_read_fails_with_a_reason_and_can_be_retried(app: App) -> None:
    truncated_parquet = b"PAR1" + bytes(range(256)) * 4
    accepted = (await upload(app.client, content=truncated_parquet, filename="data.parquet")).json()
    task = await wait_for_task(app.client, accepted["task_id"])

    assert task["status"] == "failed"
    assert task["error"]["code"] == "read_error"
    assert "Parquet" in task["error"]["message"]
    assert task["error"]["message"] and task["error"]["detail"]

    retried = await app.client.post(f"/api/ingest/tasks/{accepted['task_id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "queued"
    assert (await wait_for_task(app.client, accepted["task_id"]))["status"] == "failed"

    succeeded = await upload(app.client, content=sales_csv(rows=2))
    done = await wait_for_task(app.client, succeeded.json()["task_id"])
    conflict = await app.client.post(f"/api/ingest/tasks/{done['task_id']}/retry")
    assert conflict.status_code == 409 and "cannot be retried" in conflict.json()["error"]
    assert "loaded already" in conflict.json()["detail"]  # not "wait for it to finish"


async def test_cancel_a_queued_task(app: App) -> None:
    assert app.runtime.workers is not None
    await app.runtime.workers.stop()  # nothing picks the task up
    accepted = (await upload(app.client, content=sales_csv(rows=3))).json()

    cancelled = await app.client.post(f"/api/ingest/tasks/{accepted['task_id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await app.client.post(f"/api/ingest/tasks/{accepted['task_id']}/cancel")
    assert again.status_code == 409
    # Counted among final states where it happened (the API), once; GraphQL's cancel as well.
    other = (await upload(app.client, content=sales_csv(rows=3, seed=1))).json()["task_id"]
    mutation = f'mutation {{ cancelIngestionTask(taskId: "{other}") {{ status }} }}'
    assert (await app.client.post("/graphql", json={"query": mutation})).json() == {
        "data": {"cancelIngestionTask": {"status": "CANCELLED"}}
    }
    exported = (await app.client.get("/metrics")).text
    assert 'ingest_tasks_total{status="cancelled"} 2.0' in exported


async def test_task_list_filters_and_pages(app: App) -> None:
    ids = []
    for index, datasource in enumerate(["sales", "sales", "sales", "returns"]):
        ids.append(
            (
                await upload(
                    app.client, content=sales_csv(rows=2, seed=index), datasource=datasource
                )
            ).json()["task_id"]
        )
    for task_id in ids:
        await wait_for_task(app.client, task_id)

    page = (
        await app.client.get("/api/ingest/tasks", params={"datasource": "sales", "limit": 2})
    ).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_offset"] == 2
    rest = (
        await app.client.get(
            "/api/ingest/tasks", params={"datasource": "sales", "limit": 2, "offset": 2}
        )
    ).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    seen = {t["task_id"] for t in page["items"] + rest["items"]}
    assert seen == set(ids[:3])

    succeeded = (await app.client.get("/api/ingest/tasks", params={"status": "succeeded"})).json()
    assert succeeded["total"] == 4
    bad = await app.client.get("/api/ingest/tasks", params={"status": "done"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]


async def test_twenty_concurrent_uploads_are_all_recorded_and_completed(app: App) -> None:
    """Twenty clients, each with its own token (one principal may stream UPLOADS_IN_FLIGHT at
    once: tests/auth)."""
    clients = [app.client_as(await app.token(Role.UPLOADER)) for _ in range(20)]
    # sales belongs to its first uploader otherwise: the others would get 403
    # (tests/api/test_datasource_access.py)
    granted = await app.client.put("/api/datasources/sales/grants/role:uploader")
    assert granted.status_code == 200, granted.text
    responses = await asyncio.gather(
        *(upload(c, content=sales_csv(rows=30, seed=i)) for i, c in enumerate(clients))
    )
    assert [r.status_code for r in responses] == [202] * 20
    tasks = await asyncio.gather(
        *(wait_for_task(app.client, r.json()["task_id"]) for r in responses)
    )

    assert [t["status"] for t in tasks] == ["succeeded"] * 20
    assert all(t["attempts"] == 1 for t in tasks)
    assert len(await stored_keys(app.runtime, "datasets/sales")) == 20


async def test_upload_options_are_checked_and_recorded(app: App) -> None:
    bad_policy = await upload(app.client, content=sales_csv(rows=2), extra={"on_invalid": "ignore"})
    assert bad_policy.status_code == 422 and "on_invalid" in bad_policy.json()["error"]
    bad_ratio = await upload(
        app.client, content=sales_csv(rows=2), extra={"max_invalid_ratio": "2"}
    )
    assert bad_ratio.status_code == 422 and "max_invalid_ratio" in bad_ratio.json()["error"]
    assert await stored_keys(app.runtime) == []

    lines = sales_csv(rows=20).decode().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], "not-an-id", 1)
    content = ("\n".join(lines) + "\n").encode()
    accepted = await upload(
        app.client, content=content, extra={"on_invalid": "skip", "max_invalid_ratio": "0.2"}
    )
    task = await wait_for_task(app.client, accepted.json()["task_id"])

    assert task["status"] == "succeeded"
    assert task["options"]["on_invalid"] == "skip" and task["options"]["max_invalid_ratio"] == 0.2
    assert (task["rows_read"], task["rows_valid"], task["rows_rejected"]) == (20, 19, 1)
    check = next(c for c in task["report"]["checks"] if c["column"] == "Invoice ID")
    assert check["samples"] == [{"row": 6, "value": "not-an-id"}] and check["truncated"] is False
    rejected = await app.client.get(task["rejected_rows_url"])
    assert rejected.status_code == 200 and rejected.headers["content-type"].startswith("text/csv")
    assert rejected.text.splitlines()[1].startswith("not-an-id,")
    dataset = await read_dataset(app.runtime.store, f"datasets/sales/{task['task_id']}.parquet")
    assert dataset.height == 19


async def test_rejected_rows_of_a_clean_task_are_a_404(app: App) -> None:
    task = await wait_for_task(
        app.client, (await upload(app.client, content=sales_csv(rows=3))).json()["task_id"]
    )
    assert task["rejected_rows_url"] is None
    response = await app.client.get(f"/api/ingest/tasks/{task['task_id']}/rejected")
    assert response.status_code == 404 and "no rejected rows" in response.json()["error"]


async def test_data_csv_as_csv_xlsx_and_parquet_gives_the_same_rows_in_storage(app: App) -> None:
    csv_bytes = Path("data.csv").read_bytes()
    frame = pl.read_csv(io.BytesIO(csv_bytes), infer_schema=False)
    parquet = io.BytesIO()
    frame.write_parquet(parquet)
    workbook = xlsx_bytes(rows=[frame.columns, *[list(r) for r in frame.iter_rows()]])

    datasets = []
    for name, content in (
        ("data.csv", csv_bytes),
        ("data.xlsx", workbook),
        ("data.parquet", parquet.getvalue()),
    ):
        # The same rows each time: replace (their Invoice IDs are unique per datasource).
        accepted = (
            await upload(app.client, content=content, filename=name, extra={"mode": "replace"})
        ).json()
        task = await wait_for_task(app.client, accepted["task_id"])
        assert task["status"] == "succeeded", task["error"]
        assert task["report"]["format"] == name.rsplit(".", 1)[1]
        datasets.append(
            await read_dataset(app.runtime.store, f"datasets/sales/{accepted['task_id']}.parquet")
        )

    assert datasets[0].height == 1000
    assert datasets[0].equals(datasets[1]) and datasets[0].equals(datasets[2])


async def test_identical_uploads_sent_at_once_make_one_task(app: App) -> None:
    content = sales_csv(rows=30, seed=77)
    responses = await asyncio.gather(*(upload(app.client, content=content) for _ in range(12)))
    assert sorted(r.status_code for r in responses) == [200] * 11 + [202]
    assert len({r.json()["task_id"] for r in responses}) == 1
    listed = (await app.client.get("/api/ingest/tasks", params={"datasource": "sales"})).json()
    assert listed["total"] == 1


async def test_the_duplicate_check_and_the_insert_are_atomic(app: App) -> None:
    """Two transactions accepting the same bytes at the same moment: one task, one duplicate."""
    content = sales_csv(rows=10, seed=78)

    async def chunks() -> AsyncIterator[bytes]:
        yield content

    runtime = app.runtime
    staged = [await runtime.intake().stage(chunks(), "same.csv") for _ in range(2)]

    async def accept(upload: StagedUpload) -> bool:
        async with session_scope(runtime.sessions) as session:
            return (await acceptance.accept(session, upload, "sales")).created

    created = await asyncio.gather(*(accept(s) for s in staged))
    assert sorted(created) == [False, True]


async def test_resending_loaded_rows_explains_itself_and_force_cannot_double_them(app: App) -> None:
    content = sales_csv(rows=10, seed=90)
    first = await upload(app.client, content=content)
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"

    again = await upload(app.client, content=content)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert "already uploaded" in again.json()["message"] and "force=true" in again.json()["message"]

    forced = await upload(app.client, content=content, extra={"force": "true"})
    assert forced.status_code == 202
    failed = await wait_for_task(app.client, forced.json()["task_id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "no_valid_rows"
    (check,) = failed["report"]["checks"]
    assert (check["column"], check["check"], check["failed"]) == (
        "Invoice ID",
        "already_loaded",
        10,
    )
    assert [s["row"] for s in check["samples"]][:3] == [2, 3, 4]  # lines in the file

    replaced = await upload(app.client, content=content, extra={"force": "true", "mode": "replace"})
    assert (await wait_for_task(app.client, replaced.json()["task_id"]))["status"] == "succeeded"
    count = await app.client.post("/graphql", json={"query": "{ rowCount }"})
    assert count.json()["data"]["rowCount"] == 10  # replaced, not doubled


async def test_a_replace_is_seen_whole_or_not_at_all_by_readers(app: App) -> None:
    """mode=replace swaps the rows of its interval in one commit: a reader polling while the
    upload runs sees the old count or the new one, never a mix of both (or neither)."""
    header, *rows = sales_csv(rows=3000, seed=41).decode().splitlines()
    at = header.split(",").index("Date")  # m/d/Y
    dates = sorted({row.split(",")[at] for row in rows}, key=lambda d: d[6:] + d[:5])
    dropped_day = dates[len(dates) // 2]  # neither the first nor the last: same interval
    kept = [row for row in rows if row.split(",")[at] != dropped_day]
    first = await upload(app.client, content="\n".join([header, *rows]).encode())
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"
    seen: list[int] = []
    done = asyncio.Event()

    async def read() -> None:
        while not done.is_set():
            answer = await app.client.post("/graphql", json={"query": "{ rowCount }"})
            seen.append(answer.json()["data"]["rowCount"])
            # A reader polling without a pause kept SQLite's lock busy enough, on a loaded CI
            # machine, for the worker's next step to time out waiting for it.
            await asyncio.sleep(0.02)

    reader = asyncio.create_task(read())
    try:
        replaced = await upload(
            app.client, content="\n".join([header, *kept]).encode(), extra={"mode": "replace"}
        )
        status = (await wait_for_task(app.client, replaced.json()["task_id"]))["status"]
        await asyncio.sleep(0.2)
    finally:  # the reader stops whatever happened (a test that failed left it polling)
        done.set()
    await reader

    assert status == "succeeded"
    assert len(kept) < len(rows) and set(seen) <= {len(rows), len(kept)}, set(seen)
    assert seen[-1] == len(kept) and seen[0] == len(rows)


async def test_a_cancel_racing_the_workers_success_does_not_undo_it(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """PostgreSQL: the worker's transaction has recorded success and not yet committed when a
    cancel arrives; the cancel must wait and then refuse, not mark the loaded data cancelled (a
    cancelled task's data is not served). SQLite serialises writers: no race there."""
    backend = await make_backend("postgres_s3", request, tmp_path)
    async with app_for(backend) as app:
        assert app.runtime.workers is not None
        await app.runtime.workers.stop()
        task_id = (await upload(app.client, content=sales_csv(rows=3))).json()["task_id"]
        async with app.runtime.sessions() as worker:
            await worker.execute(
                update(IngestionTask)
                .where(IngestionTask.id == task_id)
                .values(status=TaskStatus.SUCCEEDED.value)
            )
            cancel = asyncio.create_task(app.client.post(f"/api/ingest/tasks/{task_id}/cancel"))
            await asyncio.sleep(0.5)  # the cancel reads the task meanwhile
            await worker.commit()
        answer = await cancel
        final = (await app.client.get(f"/api/ingest/status/{task_id}")).json()
    assert answer.status_code == 409, answer.text
    assert final["status"] == "succeeded"


async def test_a_form_field_sent_twice_is_refused(app: App) -> None:
    response = await app.client.post(
        "/api/ingest/upload",
        files={"file": ("data.csv", sales_csv(rows=2))},
        data={"datasource_name": ["a", "b"]},
    )
    assert response.status_code == 422, response.text
    assert "datasource_name" in response.json()["error"]
    assert await task_count(app.client) == 0


async def test_a_file_field_holding_text_is_refused_not_stored_as_a_file(app: App) -> None:
    # Found by a hostile test: curl -F file=data.csv (no @) sends the text "data.csv"; it was
    # accepted as a 8-byte file named "upload".
    response = await app.client.post(
        "/api/ingest/upload",  # parts without a file name, as curl -F name=value sends them
        files={"file": (None, "data.csv"), "datasource_name": (None, "sales")},
    )
    assert response.status_code == 422, response.text
    assert "holds text, not a file" in response.json()["error"]
    assert "file=@" in response.json()["detail"]
    assert await task_count(app.client) == 0


async def test_the_same_bytes_with_another_sheet_or_to_replace_are_not_duplicates(app: App) -> None:
    # Found by a hostile test: another sheet of the same workbook, or the same file sent with
    # mode=replace (which the duplicate answer itself advises), were answered as duplicates and
    # nothing was queued.
    workbook = xlsx_bytes(rows=[["day", "amount"], ["2024-01-01", "1"], ["2024-01-02", "2"]])
    first = await upload(app.client, content=workbook, filename="w.xlsx", datasource="book")
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"

    same_sheet = await upload(
        app.client, content=workbook, filename="w.xlsx", datasource="book", extra={"sheet": "1"}
    )
    assert same_sheet.status_code == 200 and same_sheet.json()["duplicate"] is True
    other_sheet = await upload(
        app.client, content=workbook, filename="w.xlsx", datasource="book", extra={"sheet": "2"}
    )
    assert other_sheet.status_code == 202 and other_sheet.json()["duplicate"] is False
    done = await wait_for_task(app.client, other_sheet.json()["task_id"])
    assert done["status"] == "failed" and "sheet" in done["error"]["message"]

    content = sales_csv(rows=6)
    loaded = (await upload(app.client, content=content)).json()
    await wait_for_task(app.client, loaded["task_id"])
    assert "mode=replace" in (await upload(app.client, content=content)).json()["message"]
    replace = await upload(app.client, content=content, extra={"mode": "replace"})
    assert replace.status_code == 202 and replace.json()["duplicate"] is False
    assert (await wait_for_task(app.client, replace.json()["task_id"]))["status"] == "succeeded"
    summary = await app.client.post(
        "/graphql", json={"query": '{ rowCount(filter: {datasource: "sales"}) }'}
    )
    assert summary.json()["data"]["rowCount"] == 6  # replaced, not doubled


async def test_an_unknown_form_field_is_refused_naming_the_closest_one(app: App) -> None:
    # A misspelt dry_run loaded the data it was meant to preview only.
    response = await upload(
        app.client, content=sales_csv(rows=3), datasource="typo_test", extra={"dryrun": "true"}
    )

    assert response.status_code == 422, response.text
    said = response.json()
    assert said["error"] == "unknown form field 'dryrun'; did you mean dry_run?"
    assert said["detail"].startswith("The fields are: file, datasource_name, force, dry_run,")
    assert await task_count(app.client) == 0
    assert await stored_keys(app.runtime) == []
    assert (await app.client.get("/api/datasources/typo_test")).status_code == 404
    misnamed = await app.client.post(
        "/api/ingest/upload",
        files={"File": ("data.csv", sales_csv(rows=2))},
        data={"datasource_name": "sales"},
    )
    assert misnamed.status_code == 422, misnamed.text
    assert misnamed.json()["error"] == "unknown form field 'File'; did you mean file?"
    after = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        + sales_csv(rows=3)
        + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="datasource_name"\r\n\r\nsales'
        + b'\r\n--XyZ\r\nContent-Disposition: form-data; name="colour"\r\n\r\nred\r\n--XyZ--\r\n'
    )
    late = await app.client.post(
        "/api/ingest/upload",
        content=after,
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert late.status_code == 422, late.text
    assert late.json()["error"] == "unknown form field 'colour'."
    assert await task_count(app.client) == 0
    assert await stored_keys(app.runtime) == []

"""Resumable upload sessions over REST, on SQLite + local folder and on PostgreSQL + S3 (moto):
parts sent in any order and in parallel, straight to S3 when the store is S3, completed into a
task exactly as a single-request upload is."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import update

from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.errors import storage_unavailable
from backend.ingestion.resumable.models import UploadSession
from backend.storage import parts
from backend.storage.s3 import S3ObjectStore
from backend.tasks.models import IngestionTask
from tests.conftest import App
from tests.factories import read_dataset, sales_csv, stored_keys, upload, wait_for_task
from tests.ingestion.resumable.sending import (
    MIB,
    chunk,
    create,
    csv_of_size,
    part_bytes_received,
    put,
    send_parts,
)


@pytest.fixture(autouse=True)
def five_mib_parts(app: App) -> None:
    app.runtime.settings.upload_part_mb = 5


async def test_parts_sent_out_of_order_and_in_parallel_become_the_files_rows(app: App) -> None:
    data = csv_of_size(11 * MIB)  # three parts: 5, 5 and 1 MiB
    session = await create(app, data, sha256=hashlib.sha256(data).hexdigest())
    assert (session["status"], session["part_size"], session["part_count"]) == ("open", 5 * MIB, 3)
    on_s3 = isinstance(app.runtime.store, S3ObjectStore)
    assert session["storage"] == ("s3" if on_s3 else "local")

    sent = await send_parts(app, session, data, [3, 1, 2])
    assert [r.status_code for r in sent] == [200, 200, 200], [r.text for r in sent]
    assert all(r.headers["etag"] for r in sent)
    listed = (await app.client.get(f"/api/uploads/{session['id']}")).json()
    assert [(p["number"], p["size"]) for p in listed["parts"]] == [
        (1, 5 * MIB),
        (2, 5 * MIB),
        (3, len(data) - 10 * MIB),
    ]
    assert listed["received_bytes"] == len(data)

    completed = await app.client.post(f"/api/uploads/{session['id']}/complete", json={})
    assert completed.status_code == 202, completed.text
    accepted = completed.json()
    assert (accepted["size_bytes"], accepted["sha256"]) == (len(data), session["sha256"])
    task = await wait_for_task(app.client, accepted["task_id"], timeout=120)
    assert task["status"] == "succeeded", task
    rows = data.count(b"\n") - 1
    assert task["rows_valid"] == rows
    dataset = await read_dataset(app.runtime.store, f"datasets/sales/{accepted['task_id']}.parquet")
    assert dataset.height == rows
    first = data.split(b"\n")[1].split(b",")[0].decode()
    assert dataset["Invoice ID"][0] == first

    again = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert again.status_code == 202 and again.json()["task_id"] == accepted["task_id"]
    done = (await app.client.get(f"/api/uploads/{session['id']}")).json()
    assert (done["status"], done["task_id"]) == ("completed", accepted["task_id"])
    assert done["status_url"] == accepted["status_url"]
    if isinstance(app.runtime.store, S3ObjectStore):
        assert part_bytes_received(app) == 0  # every byte went straight to S3
    else:
        assert part_bytes_received(app) == len(data)


async def test_a_missing_part_is_named_and_the_session_completes_once_it_is_sent(
    app: App,
) -> None:
    data = csv_of_size(11 * MIB)
    session = await create(app, data)
    await send_parts(app, session, data, [1])

    refused = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "Parts 2, 3 are missing"
    assert "Send them" in refused.json()["detail"]

    await send_parts(app, session, data, [2])
    one = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert one.status_code == 409, one.text
    assert one.json()["error"] == "Part 3 is missing"
    assert one.json()["detail"].startswith("Send it and complete again")

    await send_parts(app, session, data, [3])
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text
    assert completed.json()["sha256"] == hashlib.sha256(data).hexdigest()


async def test_the_same_bytes_again_answer_the_first_task_as_an_upload_does(app: App) -> None:
    data = sales_csv(rows=40)
    first = await create(app, data)
    await send_parts(app, first, data, [1])
    accepted = (await app.client.post(f"/api/uploads/{first['id']}/complete")).json()
    await wait_for_task(app.client, accepted["task_id"])

    second = await create(app, data)
    await send_parts(app, second, data, [1])
    duplicate = await app.client.post(f"/api/uploads/{second['id']}/complete")
    assert duplicate.status_code == 200, duplicate.text
    assert duplicate.json()["duplicate"] is True
    assert duplicate.json()["task_id"] == accepted["task_id"]
    assert "force=true" in duplicate.json()["message"]
    kept = await stored_keys(app.runtime, "sessions")  # the first task's file only
    assert [key.split("/")[1] for key in kept] == [first["id"]]


async def test_another_callers_session_is_not_found_and_an_admin_sees_it(app: App) -> None:
    data = sales_csv(rows=10)
    owner = app.client_as(await app.token(Role.UPLOADER))
    other = app.client_as(await app.token(Role.UPLOADER))
    body = {"filename": "a.csv", "size": len(data), "datasource_name": "sales"}
    async with owner, other:
        session = (await owner.post("/api/uploads", json=body)).json()
        path = f"/api/uploads/{session['id']}"
        assert (await other.get(path)).status_code == 404
        assert (
            await other.post(f"{path}/parts", json={"parts": [{"number": 1}]})
        ).status_code == 404
        assert (await other.post(f"{path}/complete")).status_code == 404
        assert (await other.delete(path)).status_code == 404
        assert (await other.get("/api/uploads")).json()["total"] == 0
        assert (await owner.get("/api/uploads?status=open")).json()["total"] == 1
    assert (await app.client.get(path)).json()["id"] == session["id"]  # an admin's


async def test_sessions_and_staged_bytes_per_caller_are_bounded(app: App) -> None:
    settings = app.runtime.settings
    settings.upload_sessions_per_principal = 2
    settings.upload_staged_mb_per_principal = 3
    small = sales_csv(rows=10)
    await create(app, small)
    too_big = await app.client.post(
        "/api/uploads", json={"filename": "a.csv", "size": 3 * MIB, "datasource_name": "sales"}
    )
    assert too_big.status_code == 429, too_big.text
    assert "UPLOAD_STAGED_MB_PER_PRINCIPAL" in too_big.json()["detail"]
    await create(app, small)
    third = await app.client.post(
        "/api/uploads", json={"filename": "a.csv", "size": 10, "datasource_name": "sales"}
    )
    assert third.status_code == 429 and third.headers["retry-after"]
    assert "abort" in third.json()["detail"]
    settings.upload_session_max_mb = 1
    over = await app.client.post(
        "/api/uploads", json={"filename": "a.csv", "size": 2 * MIB, "datasource_name": "sales"}
    )
    assert over.status_code == 422 and "UPLOAD_SESSION_MAX_MB" in over.json()["detail"]
    bad_name = await app.client.post(
        "/api/uploads", json={"filename": "a.csv", "size": 10, "datasource_name": "1 bad"}
    )
    assert bad_name.status_code == 422


async def test_an_aborted_session_leaves_nothing_and_takes_no_more_parts(app: App) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data)
    await send_parts(app, session, data, [2])
    assert (await app.client.delete(f"/api/uploads/{session['id']}")).status_code == 204

    assert not await stored_keys(app.runtime, "sessions")
    store = app.runtime.store
    if isinstance(store, S3ObjectStore):
        uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
        assert uploads == []
    late = await app.client.post(
        f"/api/uploads/{session['id']}/parts", json={"parts": [{"number": 1}]}
    )
    assert late.status_code == 409 and "aborted" in late.json()["error"]
    assert (await app.client.get(f"/api/uploads/{session['id']}")).json()["status"] == "aborted"


async def test_content_that_is_not_a_table_is_refused_at_complete(app: App) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 8
    session = await create(app, data, filename="report.csv")
    await send_parts(app, session, data, [1])
    refused = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert refused.status_code == 415, refused.text
    assert "PDF" in refused.json()["error"]
    assert not await stored_keys(app.runtime, "sessions")
    assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0


async def test_a_part_past_the_last_is_refused(app: App) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data)
    asked = await app.client.post(
        f"/api/uploads/{session['id']}/parts", json={"parts": [{"number": 3}]}
    )
    assert asked.status_code == 422 and "parts 1 to 2" in asked.json()["detail"]
    assert chunk(data, session["part_size"], 2)  # the last part has the rest


async def test_a_declared_sha256_that_the_bytes_do_not_have_never_loads(app: App) -> None:
    data = sales_csv(rows=30)
    session = await create(app, data, sha256="0" * 64)
    await send_parts(app, session, data, [1])
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    if not isinstance(app.runtime.store, S3ObjectStore):
        assert completed.status_code == 422, completed.text  # read back at once
        return
    # S3: recorded unread; the worker, the first to read the file, refuses it.
    assert completed.status_code == 202, completed.text
    task = await wait_for_task(app.client, completed.json()["task_id"])
    assert task["status"] == "failed", task
    assert "sha256 declared" in task["error"]["message"]


async def test_a_session_with_dry_run_completes_into_a_preview_that_loads_nothing(
    app: App,
) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data, dry_run=True)
    assert session["dry_run"] is True
    await send_parts(app, session, data, [2, 1])
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete", json={})
    assert completed.status_code == 202, completed.text
    task = await wait_for_task(app.client, completed.json()["task_id"], timeout=120)
    assert (task["status"], task["dry_run"]) == ("succeeded", True), task
    preview = task["report"]["preview"]
    assert preview["rows_total"] == data.count(b"\n") - 1
    assert [c["name"] for c in preview["columns"]][:2] == ["Invoice ID", "Branch"]
    assert not await stored_keys(app.runtime, "datasets")


async def test_a_declared_sha256_is_not_trusted_for_the_duplicate_check(app: App) -> None:
    first = sales_csv(rows=40)  # into an inferred datasource: no unique key refuses a reload
    digest = hashlib.sha256(first).hexdigest()
    loaded = await create(app, first, sha256=digest, datasource_name="inferred")
    await send_parts(app, loaded, first, [1])
    accepted = (await app.client.post(f"/api/uploads/{loaded['id']}/complete")).json()
    assert (await wait_for_task(app.client, accepted["task_id"]))["status"] == "succeeded"

    other = sales_csv(rows=41)  # other bytes, declared with the first file's sha256
    lying = await create(app, other, sha256=digest, datasource_name="inferred")
    await send_parts(app, lying, other, [1])
    refused = await app.client.post(f"/api/uploads/{lying['id']}/complete")
    on_s3 = isinstance(app.runtime.store, S3ObjectStore)
    if not on_s3:
        assert refused.status_code == 422, refused.text  # hashed at complete
    else:  # before: 200 "already uploaded", and the other bytes deleted
        assert refused.status_code == 202, refused.text
        task = await wait_for_task(app.client, refused.json()["task_id"])
        assert task["status"] == "failed" and "sha256 declared" in task["error"]["message"]
        assert await stored_keys(app.runtime, f"sessions/{lying['id']}")

    again = await create(
        app, first, sha256=digest, datasource_name="inferred"
    )  # the same bytes, truly
    await send_parts(app, again, first, [1])
    completed = await app.client.post(f"/api/uploads/{again['id']}/complete")
    if not on_s3:  # hashed by the service: answered at once, as an upload is
        assert completed.status_code == 200 and completed.json()["duplicate"] is True
        return
    assert completed.status_code == 202, completed.text  # never a duplicate answer unverified
    task = await wait_for_task(app.client, completed.json()["task_id"])
    assert task["status"] == "failed", task
    assert "already uploaded" in task["error"]["message"]
    assert accepted["task_id"] in task["error"]["message"]
    assert "force=true" in task["error"]["detail"]
    assert [r["action"] for r in task["error"]["remedies"]] == ["force"]
    assert await stored_keys(app.runtime, f"sessions/{again['id']}")  # the file is kept
    reloaded = await app.client.post(
        f"/api/ingest/tasks/{task['task_id']}/reload", json={"force": True}
    )
    assert reloaded.status_code == 202, reloaded.text
    assert (await wait_for_task(app.client, reloaded.json()["task_id"]))["status"] == "succeeded"


async def completing_since(app: App, session_id: str, ago: dt.timedelta) -> None:
    async with session_scope(app.runtime.sessions) as db:
        await db.execute(
            update(UploadSession)
            .where(UploadSession.id == session_id)
            .values(status="completing", updated_at=utcnow() - ago)
        )


async def test_a_session_left_completing_by_a_crash_completes_again(app: App) -> None:
    data = sales_csv(rows=30)
    session = await create(app, data)
    await send_parts(app, session, data, [1])
    await completing_since(app, session["id"], dt.timedelta(seconds=10))
    busy = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert busy.status_code == 409 and "being completed" in busy.json()["error"]
    await completing_since(app, session["id"], dt.timedelta(minutes=3))  # its call died
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text  # before: 409 until it expired
    task = await wait_for_task(app.client, completed.json()["task_id"])
    assert task["status"] == "succeeded", task


@pytest.mark.parametrize("fault", ["outage", "unexpected"])
async def test_a_fault_while_completing_leaves_the_session_open_with_its_parts(
    app: App, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    data = sales_csv(rows=30)
    session = await create(app, data)
    await send_parts(app, session, data, [1])
    target = parts.target(app.runtime.store, app.runtime.settings)
    error = storage_unavailable() if fault == "outage" else RuntimeError("a bug")

    async def failing(key: str, length: int) -> bytes:
        raise error

    monkeypatch.setattr(target, "head", failing)
    failed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert failed.status_code == (503 if fault == "outage" else 500), failed.text
    monkeypatch.undo()
    listed = (await app.client.get(f"/api/uploads/{session['id']}")).json()
    # before: aborted, its file deleted (an outage), or stuck completing (an unexpected error)
    assert listed["status"] == "open", listed
    assert [p["number"] for p in listed["parts"]] == [1]
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text
    task = await wait_for_task(app.client, completed.json()["task_id"])
    assert task["status"] == "succeeded", task


async def test_losing_write_access_before_complete_keeps_the_session(app: App) -> None:
    data = sales_csv(rows=30)
    ulla = app.client_as(await app.token(Role.UPLOADER, "ulla"))
    olga = app.client_as(await app.token(Role.UPLOADER, "olga"))
    body = {"filename": "a.csv", "size": len(data), "datasource_name": "shared"}
    async with ulla, olga:
        session = (await ulla.post("/api/uploads", json=body)).json()
        found = (
            await ulla.post(f"/api/uploads/{session['id']}/parts", json={"parts": [{"number": 1}]})
        ).json()["parts"][0]
        assert (await put(app, found, data)).status_code == 200
        first = await upload(olga, content=sales_csv(rows=5), datasource="shared")  # olga's now
        assert first.status_code == 202, first.text
        await wait_for_task(app.client, first.json()["task_id"])
        refused = await ulla.post(f"/api/uploads/{session['id']}/complete")
        assert refused.status_code == 403, refused.text
        kept = (await ulla.get(f"/api/uploads/{session['id']}")).json()
        assert kept["status"] == "open" and [p["number"] for p in kept["parts"]] == [1]
        assert (await olga.put("/api/datasources/shared/grants/ulla")).status_code == 200
        completed = await ulla.post(f"/api/uploads/{session['id']}/complete")
        assert completed.status_code == 202, completed.text


async def test_an_unknown_key_is_refused_naming_the_closest_one(app: App) -> None:
    # "dryrun" was ignored: the session loaded the file it was meant to preview only.
    body = {"filename": "a.csv", "size": 10, "datasource_name": "sales", "dryrun": True}

    response = await app.client.post("/api/uploads", json=body)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "unknown field 'dryrun'; did you mean dry_run?" in detail
    assert "The fields are: filename, size, sha256, datasource_name, force, dry_run," in detail
    listed = await app.client.get("/api/uploads")
    assert listed.json()["total"] == 0
    session = await create(app, b"a,b\n1,2\n")
    complete = await app.client.post(
        f"/api/uploads/{session['id']}/complete", json={"sha256": None, "part": []}
    )
    assert complete.status_code == 422, complete.text
    assert "unknown field 'part'; did you mean parts?" in complete.json()["detail"]


async def lying_session(app: App, real: bytes, datasource: str) -> str | None:
    """An upload session of other bytes declaring `real`'s sha256, completed: its task (S3:
    recorded unread), or None (local folder: refused at complete, hashed at once)."""
    other = sales_csv(rows=45, seed=7)
    lying = await create(
        app, other, sha256=hashlib.sha256(real).hexdigest(), datasource_name=datasource
    )
    await send_parts(app, lying, other, [1])
    completed = await app.client.post(f"/api/uploads/{lying['id']}/complete")
    if not isinstance(app.runtime.store, S3ObjectStore):
        assert completed.status_code == 422, completed.text
        return None
    assert completed.status_code == 202, completed.text
    task_id: str = completed.json()["task_id"]
    return task_id


async def test_a_reload_of_a_task_whose_declared_sha256_was_false_fails_the_same_check(
    app: App,
) -> None:
    real = sales_csv(rows=40)
    lying = await lying_session(app, real, "inferred")
    if lying is None:
        return
    failed = await wait_for_task(app.client, lying)
    assert failed["status"] == "failed" and "sha256 declared" in failed["error"]["message"]

    reloaded = await app.client.post(f"/api/ingest/tasks/{lying}/reload", json={})
    assert reloaded.status_code == 202, reloaded.text
    again = await wait_for_task(app.client, reloaded.json()["task_id"])
    # before: succeeded, the other bytes loaded as the real file's
    assert again["status"] == "failed", again
    assert "sha256 declared" in again["error"]["message"]
    assert again["options"]["sha256_declared"] is True
    assert not await stored_keys(app.runtime, "datasets")

    sent = await upload(app.client, content=real, datasource="inferred")
    assert sent.status_code == 202 and sent.json()["duplicate"] is False, sent.text
    task = await wait_for_task(app.client, sent.json()["task_id"])
    assert (task["status"], task["rows_valid"]) == ("succeeded", 40), task


async def test_an_upload_is_no_duplicate_of_a_task_whose_declared_sha256_is_unchecked(
    app: App,
) -> None:
    assert app.runtime.workers is not None
    await app.runtime.workers.stop()  # the lying session's task stays unchecked
    real = sales_csv(rows=40)
    lying = await lying_session(app, real, "inferred")
    if lying is None:
        return
    for status in ("queued", "validating"):
        async with session_scope(app.runtime.sessions) as db:
            await db.execute(
                update(IngestionTask).where(IngestionTask.id == lying).values(status=status)
            )
        sent = await upload(app.client, content=real, datasource="inferred")
        # before: 200 "already uploaded ... as task <the lying one>", the real bytes dropped
        assert sent.status_code == 202, sent.text
        assert sent.json()["task_id"] != lying and sent.json()["duplicate"] is False
        async with session_scope(app.runtime.sessions) as db:
            await db.execute(
                update(IngestionTask)
                .where(IngestionTask.id == sent.json()["task_id"])
                .values(status="cancelled")
            )


async def test_a_declared_sha256_once_checked_stands_for_the_bytes(app: App) -> None:
    real = sales_csv(rows=40)
    session = await create(
        app, real, sha256=hashlib.sha256(real).hexdigest(), datasource_name="inferred"
    )
    await send_parts(app, session, real, [1])
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text
    task = await wait_for_task(app.client, completed.json()["task_id"])
    assert task["status"] == "succeeded", task
    if isinstance(app.runtime.store, S3ObjectStore):  # checked by the worker, and recorded
        assert task["options"]["sha256_verified"] is True
    sent = await upload(app.client, content=real, datasource="inferred")
    assert sent.status_code == 200 and sent.json()["duplicate"] is True, sent.text
    assert sent.json()["task_id"] == task["task_id"]


async def test_abort_while_complete_runs_is_refused_and_removes_nothing(app: App) -> None:
    data = sales_csv(rows=30)
    session = await create(app, data)
    await send_parts(app, session, data, [1])
    await completing_since(app, session["id"], dt.timedelta(seconds=10))  # a live complete
    refused = await app.client.delete(f"/api/uploads/{session['id']}")
    assert refused.status_code == 409, refused.text  # before: 204, the file deleted under it
    assert "is being completed" in refused.json()["error"]
    assert "GET /api/uploads/{id} says how it ended" in refused.json()["detail"]
    listed = (await app.client.get(f"/api/uploads/{session['id']}")).json()
    assert (listed["status"], [p["number"] for p in listed["parts"]]) == ("completing", [1])

    async with session_scope(app.runtime.sessions) as db:  # that complete failed: open again
        await db.execute(
            update(UploadSession).where(UploadSession.id == session["id"]).values(status="open")
        )
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text
    task = await wait_for_task(app.client, completed.json()["task_id"])
    assert task["status"] == "succeeded", task


async def test_a_session_left_completing_by_a_crash_may_be_aborted(app: App) -> None:
    data = sales_csv(rows=30)
    session = await create(app, data)
    await send_parts(app, session, data, [1])
    await completing_since(app, session["id"], dt.timedelta(minutes=3))  # its call died
    aborted = await app.client.delete(f"/api/uploads/{session['id']}")
    assert aborted.status_code == 204, aborted.text
    listed = (await app.client.get(f"/api/uploads/{session['id']}")).json()
    assert listed["status"] == "aborted"

"""Imports from an address on 127.0.0.1 and from moto's S3 server: each new file is taken once
(also after the service restarts between runs), through the upload path (its checks, its
dedupe, its report), and the task says which action and run made it."""

from __future__ import annotations

from typing import Any

from backend.auth.principal import Principal
from backend.auth.roles import Role
from tests.actions.imports.conftest import Source, sales
from tests.actions.imports.harness import (
    Files,
    file_server,
    run_once,
    store_action,
)
from tests.conftest import App, Backend, app_for, create_bucket
from tests.factories import upload, wait_for_task


async def succeeded(app: App, outcome_output: dict[str, Any]) -> list[dict[str, Any]]:
    tasks = [await wait_for_task(app.client, t) for t in outcome_output["task_ids"]]
    assert [t["status"] for t in tasks] == ["succeeded"] * len(tasks), tasks
    return tasks


async def test_an_address_gives_each_new_file_once_across_restarts(source: Source) -> None:
    files = Files({"/exports/sales.csv": sales(1)}, token="s3cret")
    task_ids: list[str] = []
    with file_server(files) as server:
        params = {
            "url": server.url("/exports/sales.csv"),
            "datasource": "sales",
            "header": {"name": "X-Token", "value": "s3cret"},
        }
        for seed in (1, 2, 3):  # one file a day; the service restarts between days
            files.served["/exports/sales.csv"] = sales(seed)
            async with app_for(source.backend) as app:
                if seed == 1:
                    action = await store_action(app.runtime, params, secret="s3cret")
                run_id, outcome = await run_once(app.runtime, action)
                assert outcome.status == "succeeded", outcome
                assert outcome.output["files"] == 1
                (task,) = await succeeded(app, outcome.output)
                assert task["filename"] == "sales.csv"
                assert task["action"] == {"id": action.id, "run_id": run_id}
                task_ids.append(task["task_id"])

                _, again = await run_once(app.runtime, action)
                assert again.status == "succeeded"
                assert again.output == {
                    "files": 0,
                    "task_ids": [],
                    "duplicates": [],
                    "refused": [],
                    "note": "Nothing new at the address.",
                }
        assert len(set(task_ids)) == 3
        conditional = [h for h in server.hits if "if-none-match" in h.headers]
        assert conditional and all(h.headers["x-token"] == "s3cret" for h in server.hits)
        async with app_for(source.backend) as app:
            listed = (await app.client.get("/api/ingest/tasks")).json()
            assert listed["total"] == 3


async def test_a_refused_header_or_missing_file_fails_the_run_with_a_sentence(
    app: App,
) -> None:
    with file_server(Files({"/a.csv": sales(1)}, token="right")) as server:
        params = {"url": server.url("/a.csv"), "datasource": "sales"}
        action = await store_action(
            app.runtime, {**params, "header": _header("wrong")}, secret="wrong"
        )
        _, outcome = await run_once(app.runtime, action)
        assert outcome.status == "failed"
        assert outcome.error is not None
        assert outcome.error["message"].endswith("answered HTTP 401 instead of the file.")
        assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0


def _header(value: str) -> dict[str, str]:
    return {"name": "X-Token", "value": value}


async def test_a_bad_file_gives_a_failed_task_with_its_report(app: App) -> None:
    lines = sales(7).decode().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("Quantity")] = "0"
    lines[3] = ",".join(row)
    with file_server(Files({"/bad.csv": ("\n".join(lines) + "\n").encode()})) as server:
        action = await store_action(
            app.runtime, {"url": server.url("/bad.csv"), "datasource": "sales"}
        )
        _, outcome = await run_once(app.runtime, action)
    assert outcome.status == "succeeded", outcome  # the task is queued; the task then fails
    task = await wait_for_task(app.client, outcome.output["task_ids"][0])
    assert task["status"] == "failed"
    assert task["error"]["code"] == "invalid_rows"
    assert task["report"] is not None and task["rows_rejected"] == 1


async def test_too_large_or_not_a_table_is_refused_as_an_upload_is(app: App) -> None:
    served = {
        "/big.csv": sales(1) + b"x" * (1024 * 1024),
        "/logo.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 600,
    }
    with file_server(Files(served)) as server:
        for path, words in (
            ("/big.csv", "larger than the limit of 1 MB"),
            ("/logo.png", "unsupported file content"),
        ):
            action = await store_action(
                app.runtime, {"url": server.url(path), "datasource": "sales"}
            )
            _, outcome = await run_once(app.runtime, action)
            assert outcome.status == "failed", outcome
            assert (
                outcome.error is not None and words.lower() in outcome.error["message"].lower()
            ), outcome.error
            assert outcome.error["message"].startswith(path.lstrip("/") + ": ")
            assert outcome.output["refused"][0]["key"] == server.url(path)
            _, again = await run_once(app.runtime, action)  # not fetched and refused again
            assert again.status == "succeeded" and again.output["files"] == 0, again
    assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0


async def test_a_bucket_gives_its_new_objects_once_across_restarts(source: Source) -> None:
    seen_tasks: list[str] = []
    source.put("elsewhere/ignored.csv", sales(9))
    for day in (1, 2, 3):
        source.put(f"daily/day-{day}.csv", sales(day))
        async with app_for(source.backend) as app:
            if day == 1:
                action = await store_action(
                    app.runtime, {"s3_uri": f"s3://{source.bucket}/daily/", "datasource": "sales"}
                )
            run_id, outcome = await run_once(app.runtime, action)
            assert outcome.status == "succeeded", outcome
            (task,) = await succeeded(app, outcome.output)
            assert task["filename"] == f"day-{day}.csv"
            assert task["action"] == {"id": action.id, "run_id": run_id}
            seen_tasks.append(task["task_id"])
            _, again = await run_once(app.runtime, action)
            assert again.output["files"] == 0 and again.output["note"] == (
                f"No new objects at s3://{source.bucket}/daily/."
            )
    assert len(set(seen_tasks)) == 3


async def test_the_same_bytes_again_are_a_duplicate_not_a_failure(app: App, source: Source) -> None:
    source.put("one/a.csv", sales(4))
    source.put("one/b.csv", sales(4))
    action = await store_action(
        app.runtime, {"s3_uri": f"s3://{source.bucket}/one/", "datasource": "sales"}
    )
    _, outcome = await run_once(app.runtime, action)
    assert outcome.status == "succeeded", outcome
    assert outcome.output["files"] == 2
    assert outcome.output["duplicates"] == outcome.output["task_ids"]


async def test_buckets_not_named_and_the_service_storage_are_refused(
    app: App, source: Source
) -> None:
    other = create_bucket(source.endpoint)
    action = await store_action(app.runtime, {"s3_uri": f"s3://{other}/x/", "datasource": "sales"})
    _, outcome = await run_once(app.runtime, action)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["code"] == "bucket_not_allowed"
    assert "ACTIONS_S3_BUCKETS" in outcome.error["message"]
    storage = source.backend.settings.storage_url
    if storage.startswith("s3://"):
        own_bucket = storage.removeprefix("s3://").split("/", 1)[0]
        settings = source.backend.settings.model_copy(update={"actions_s3_buckets": [own_bucket]})
        async with app_for(Backend(source.backend.name, settings, {})) as own:
            action = await store_action(
                own.runtime, {"s3_uri": f"s3://{own_bucket}/", "datasource": "sales"}
            )
            _, outcome = await run_once(own.runtime, action)
            assert outcome.error is not None
            assert outcome.error["code"] == "storage_prefix_refused", outcome.error


async def test_an_owner_who_may_not_write_the_datasource_gets_a_failed_run(
    app: App, source: Source
) -> None:
    await upload(app.client, content=sales(11), datasource="theirs")  # the admin's now
    source.put("theirs/a.csv", sales(12))
    action = await store_action(
        app.runtime, {"s3_uri": f"s3://{source.bucket}/theirs/", "datasource": "theirs"}
    )
    _, outcome = await run_once(app.runtime, action)
    assert outcome.status == "failed" and outcome.error is not None
    assert "belongs to someone else" in outcome.error["message"]
    viewer = Principal(id="token:v", name="v", role=Role.VIEWER, kind="token")
    _, outcome = await run_once(app.runtime, action, viewer)
    assert outcome.error is not None and "uploader role" in outcome.error["message"]

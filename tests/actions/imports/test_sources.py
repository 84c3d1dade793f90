"""How an import tells a new file from one it took: an address's ETag, else its Last-Modified,
else the bytes themselves; an S3 object's key and ETag (a rewritten object is a new file), one
key or a prefix, at most ACTIONS_IMPORT_MAX_FILES per run; and where it may not go."""

from __future__ import annotations

import pytest

from tests.actions.imports.conftest import Source, sales
from tests.actions.imports.harness import Files, file_server, run_once, store_action
from tests.conftest import App, Backend, app_for
from tests.factories import wait_for_task


@pytest.mark.parametrize("versions", ["last-modified", "none"])
async def test_an_address_without_etags_still_gives_each_file_once(app: App, versions: str) -> None:
    files = Files({"/f.csv": sales(1)}, versions=versions)
    with file_server(files) as server:
        action = await store_action(app.runtime, {"url": server.url("/f.csv"), "datasource": "s"})
        taken = []
        for seed in (1, 1, 2, 2):
            files.served["/f.csv"] = sales(seed)
            _, outcome = await run_once(app.runtime, action)
            assert outcome.status == "succeeded", outcome
            taken += outcome.output["task_ids"]
        assert len(taken) == 2 == len(set(taken))
        asked = [h.headers.get("if-modified-since") for h in server.hits]
    if versions == "last-modified":  # an unchanged file answered 304 to its date
        assert asked[1] == "Tue, 01 Dec 2026 07:00:00 GMT"
    else:
        assert asked == [None] * 4


async def test_the_file_is_named_by_content_disposition(app: App) -> None:
    with file_server(Files({"/export": sales(3)}, named="März sales.csv")) as server:
        action = await store_action(
            app.runtime, {"url": server.url("/export?id=7"), "datasource": "sales"}
        )
        _, outcome = await run_once(app.runtime, action)
    task = await wait_for_task(app.client, outcome.output["task_ids"][0])
    assert task["filename"] == "März sales.csv"


async def test_a_rewritten_object_is_a_new_file_and_a_key_is_that_object_only(
    app: App, source: Source
) -> None:
    source.put("k/day-1.csv", sales(1))
    source.put("k/day-10.csv", sales(10))
    action = await store_action(
        app.runtime, {"s3_uri": f"s3://{source.bucket}/k/day-1.csv", "datasource": "sales"}
    )
    _, first = await run_once(app.runtime, action)
    assert first.output["files"] == 1
    source.put("k/day-1.csv", sales(2))  # the same key, new bytes: a new ETag
    _, second = await run_once(app.runtime, action)
    assert second.output["files"] == 1 and second.output["task_ids"] != first.output["task_ids"]
    task = await wait_for_task(app.client, second.output["task_ids"][0])
    assert task["filename"] == "day-1.csv"


async def test_a_run_takes_at_most_the_configured_number_of_files(source: Source) -> None:
    settings = source.backend.settings.model_copy(update={"actions_import_max_files": 2})
    for name in ("c.csv", "a.csv", "b.csv"):
        source.put(f"many/{name}", sales(ord(name[0])))
    async with app_for(Backend(source.backend.name, settings, source.backend.env)) as app:
        action = await store_action(
            app.runtime, {"s3_uri": f"s3://{source.bucket}/many/", "datasource": "sales"}
        )
        _, first = await run_once(app.runtime, action)
        _, second = await run_once(app.runtime, action)
        names = [
            (await wait_for_task(app.client, t))["filename"]
            for t in first.output["task_ids"] + second.output["task_ids"]
        ]
    assert second.output["files"] == 1, second
    assert names == ["a.csv", "b.csv", "c.csv"]  # in key order, the rest on the next run


async def test_an_address_not_allowed_is_refused_and_gets_nothing(source: Source) -> None:
    settings = source.backend.settings.model_copy(update={"actions_allowed_hosts": []})
    with file_server(Files({"/f.csv": sales(1)})) as server:
        async with app_for(Backend(source.backend.name, settings, source.backend.env)) as app:
            action = await store_action(
                app.runtime, {"url": server.url("/f.csv"), "datasource": "sales"}
            )
            _, outcome = await run_once(app.runtime, action)
        assert server.hits == []
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["code"] == "destination_refused"
    assert "ACTIONS_ALLOWED_HOSTS" in outcome.error["hint"]


async def test_an_object_over_the_limit_is_refused_unread_and_not_listed_again(
    app: App, source: Source
) -> None:
    source.put("big/huge.csv", sales(1) + b"x" * (1024 * 1024))
    action = await store_action(
        app.runtime, {"s3_uri": f"s3://{source.bucket}/big/", "datasource": "sales"}
    )
    _, outcome = await run_once(app.runtime, action)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"] == "huge.csv: The upload is larger than the limit of 1 MB."
    assert outcome.output["refused"] == [
        {"key": f"s3://{source.bucket}/big/huge.csv", "reason": outcome.error["message"][10:]}
    ]
    _, again = await run_once(app.runtime, action)
    assert again.status == "succeeded" and again.output["files"] == 0

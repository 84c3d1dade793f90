"""Previews (dry runs) and their confirmation with overrides, over REST: a dry run reads and
checks the file in full and loads nothing; confirming it loads the same stored file with the
types, date order, names and columns a person chose."""

from __future__ import annotations

import csv
import io
from typing import Any

from backend.auth.roles import Role
from backend.worker import janitor
from tests.conftest import App, make_token
from tests.factories import sales_csv, stored_keys, upload, wait_for_task
from tests.ingestion.resumable.sending import MIB, create, csv_of_size, send_parts

READINGS = b"when,amount,code,note\n1/5/2019,10,007,a\n2/5/2019,20,008,b\n3/5/2019,30,009,c\n"


async def _preview(app: App, content: bytes = READINGS, datasource: str = "readings") -> Any:
    accepted = await upload(
        app.client, content=content, datasource=datasource, extra={"dry_run": "true"}
    )
    assert accepted.status_code == 202, accepted.text
    assert "nothing is loaded" in accepted.json()["message"]
    return await wait_for_task(app.client, accepted.json()["task_id"])


async def _rows(app: App, datasource: str) -> list[dict[str, str]]:
    answer = await app.client.get(f"/api/datasources/{datasource}/rows.csv")
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_a_dry_run_shows_the_preview_and_loads_nothing(app: App) -> None:
    task = await _preview(app)

    assert task["status"] == "succeeded", task
    assert task["dry_run"] is True
    assert "nothing was loaded" in task["events"][-1]["message"]
    assert task["report"]["outcome"] == "previewed"  # not "loaded"
    preview = task["report"]["preview"]
    columns = {c["name"]: c for c in preview["columns"]}
    assert [c["type"] for c in preview["columns"]] == ["date", "integer", "string", "string"]
    assert columns["code"]["samples"] == ["007", "008", "009"]
    assert columns["amount"]["distinct_estimate"] == 3
    assert columns["amount"]["rule"] == "amount must be a whole number."
    assert preview["rows"][0] == ["2019-01-05", "10", "007", "a"]
    assert (preview["time_column"], preview["date_order"]) == ("when", "month_first")
    assert preview["rows_total"] == 3
    # nothing loaded: the datasource does not exist, and its name is free for anyone
    assert (await app.client.get("/api/datasources/readings")).status_code == 404
    # a real upload of the same bytes is not a duplicate of the preview
    real = await upload(app.client, content=READINGS, datasource="readings")
    assert real.status_code == 202, real.text
    assert real.json()["duplicate"] is False
    assert (await wait_for_task(app.client, real.json()["task_id"]))["status"] == "succeeded"
    # ... and a preview after it is not a duplicate of the real one either
    again = await _preview(app)
    assert again["task_id"] != real.json()["task_id"]
    assert len(await _rows(app, "readings")) == 3


async def test_a_preview_of_sales_rows_shows_the_contract_rules(app: App) -> None:
    task = await _preview(app, sales_csv(rows=20), "sales")

    assert task["status"] == "succeeded", task
    columns = {c["name"]: c for c in task["report"]["preview"]["columns"]}
    assert "Quantity must be a whole number" in columns["Quantity"]["rule"]
    assert "Quantity must not be empty" in columns["Quantity"]["rule"]
    assert task["rows_valid"] == 20
    sales = await app.client.get("/api/datasources/sales")
    assert sales.status_code == 404 or sales.json()["row_count"] == 0, sales.text


async def test_confirm_with_overrides_loads_the_rows_as_chosen(app: App) -> None:
    preview = await _preview(app)
    body = {
        "overrides": {
            "types": {"amount": "float"},
            "date_order": "day_first",
            "rename": {"code": "ref"},
            "drop": ["note"],
        }
    }

    again = await app.client.post(
        f"/api/ingest/tasks/{preview['task_id']}/confirm", json={**body, "dry_run": True}
    )
    assert again.status_code == 202, again.text
    shown = await wait_for_task(app.client, again.json()["task_id"])
    assert shown["dry_run"] is True
    assert [c["name"] for c in shown["report"]["preview"]["columns"]] == ["when", "amount", "ref"]
    assert shown["report"]["preview"]["overrides"]["date_order"] == "day_first"
    assert shown["report"]["preview"]["rows"][0] == ["2019-05-01", "10.0", "007"]

    loaded = await app.client.post(f"/api/ingest/tasks/{shown['task_id']}/confirm", json=body)
    assert loaded.status_code == 202, loaded.text
    task = await wait_for_task(app.client, loaded.json()["task_id"])
    assert task["status"] == "succeeded", task
    assert task["dry_run"] is False
    assert task["overrides"]["types"] == {"amount": "float"}
    assert task["options"]["overrides"]["rename"] == {"code": "ref"}
    rows = await _rows(app, "readings")
    assert sorted(r["when"][:10] for r in rows) == ["2019-05-01", "2019-05-02", "2019-05-03"]
    assert sorted(float(r["amount"]) for r in rows) == [10.0, 20.0, 30.0]
    columns = (await app.client.get("/api/datasources/readings")).json()["columns"]
    assert (columns["amount"], columns["when"], columns["ref"]) == ("Float64", "Date", "String")
    assert sorted(r["ref"] for r in rows) == ["007", "008", "009"]
    assert "note" not in rows[0]


async def test_bad_overrides_are_refused_in_words(app: App) -> None:
    preview = await _preview(app)
    url = f"/api/ingest/tasks/{preview['task_id']}/confirm"
    cases = [
        ({"types": {"nope": "float"}}, "'nope'"),
        ({"types": {"amount": "money"}}, "not a column type"),
        ({"rename": {"code": "note"}}, "another column has that name"),
        ({"drop": ["when"]}, "is the time column"),
        ({"date_order": "sideways"}, "month_first or day_first"),
    ]
    for overrides, said in cases:
        answer = await app.client.post(url, json={"overrides": overrides})
        assert answer.status_code == 422, answer.text
        assert said in answer.json()["error"], answer.json()
        assert answer.json()["detail"].endswith(".")


async def test_rename_targets_are_checked_as_column_names_are(app: App) -> None:
    preview = await _preview(app)
    url = f"/api/ingest/tasks/{preview['task_id']}/confirm"
    app.runtime.settings.max_column_name_chars = 20
    cases = [
        ({"amount": "a/b"}, "a control or invisible character (such as a line break or a "),
        ({"amount": "a\u0000c"}, "a control or invisible character"),
        ({"note": "x\ny"}, "a control or invisible character"),
        ({"note": "x\u2028y"}, "a control or invisible character"),
        ({"note": "co\u200bde"}, "a control or invisible character"),  # looks like "code"
        ({"note": "\u202etxt.exe"}, "a control or invisible character"),  # reads backwards
        ({"code": "c" * 21}, "must have 1 to 20 characters"),
        ({"code": ""}, "must have 1 to 20 characters"),
        ({"code": "__time"}, "keeps that name for itself"),
        ({"code": "__TIME"}, "keeps that name for itself"),
        ({"code": "__row"}, "keeps that name for itself"),
    ]
    for rename, said in cases:
        answer = await app.client.post(url, json={"overrides": {"rename": rename}})
        assert answer.status_code == 422, (rename, answer.text)
        assert said in answer.json()["error"], answer.json()
        assert answer.json()["detail"].endswith(".")
    fine = await app.client.post(url, json={"overrides": {"rename": {"code": "c" * 20}}})
    assert fine.status_code == 202, fine.text
    assert (await wait_for_task(app.client, fine.json()["task_id"]))["status"] == "succeeded"


async def test_only_a_finished_preview_can_be_confirmed(app: App) -> None:
    real = await upload(app.client, content=READINGS, datasource="readings")
    task = await wait_for_task(app.client, real.json()["task_id"])

    answer = await app.client.post(f"/api/ingest/tasks/{task['task_id']}/confirm", json={})

    assert answer.status_code == 409, answer.text
    assert "dry_run=true" in answer.json()["detail"]


async def test_a_sales_contract_refuses_another_type(app: App) -> None:
    preview = await _preview(app, sales_csv(rows=5), "sales")
    url = f"/api/ingest/tasks/{preview['task_id']}/confirm"

    answer = await app.client.post(url, json={"overrides": {"types": {"Quantity": "string"}}})
    assert answer.status_code == 202, answer.text
    task = await wait_for_task(app.client, answer.json()["task_id"])

    assert task["status"] == "failed"
    assert "must be integer in the sales contract" in task["error"]["message"]


async def test_another_uploader_cannot_confirm_a_preview(app: App) -> None:
    preview = await _preview(app)
    token = await make_token(app.runtime, Role.UPLOADER, "other")

    answer = await app.client.post(
        f"/api/ingest/tasks/{preview['task_id']}/confirm",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 403, answer.text


async def test_the_janitor_removes_a_preview_file_once_kept_long_enough(app: App) -> None:
    preview = await _preview(app)
    real = await upload(app.client, content=READINGS, datasource="readings")
    await wait_for_task(app.client, real.json()["task_id"])
    runtime = app.runtime

    kept = await janitor.remove_previews(runtime.sessions, runtime.store, 3600)
    removed = await janitor.remove_previews(runtime.sessions, runtime.store, 0)

    assert (kept, removed) == (0, 1)
    keys = await stored_keys(runtime, "raw")
    assert not any(preview["task_id"] in k for k in keys)
    assert any(real.json()["task_id"] in k for k in keys)  # a real upload's file stays
    answer = await app.client.post(f"/api/ingest/tasks/{preview['task_id']}/confirm", json={})
    assert answer.status_code == 404, answer.text
    assert "no longer kept" in answer.json()["error"]
    assert "dry_run=true" in answer.json()["detail"]


async def _session_preview(app: App, data: bytes) -> dict[str, Any]:
    """A preview made through an upload session: its file stays under sessions/<id>/."""
    app.runtime.settings.upload_part_mb = 5
    session = await create(app, data, dry_run=True)
    sent = await send_parts(app, session, data, list(range(1, session["part_count"] + 1)))
    assert all(r.status_code == 200 for r in sent), [r.text for r in sent]
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete", json={})
    assert completed.status_code == 202, completed.text
    task = await wait_for_task(app.client, completed.json()["task_id"], timeout=120)
    assert (task["status"], task["dry_run"]) == ("succeeded", True), task
    assert any(k.startswith(f"sessions/{session['id']}/") for k in await _keys(app, "sessions"))
    return task


async def _keys(app: App, prefix: str) -> list[str]:
    return [o.key for o in await app.runtime.store.list_prefix(prefix)]


async def test_a_session_preview_larger_than_max_upload_mb_is_confirmed_and_loaded(
    app: App,
) -> None:
    data = csv_of_size(2 * MIB)
    preview = await _session_preview(app, data)
    app.runtime.settings.max_upload_mb = 1  # the single-request limit: the file is larger

    answer = await app.client.post(f"/api/ingest/tasks/{preview['task_id']}/confirm", json={})

    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    # the same bytes, copied inside the store (never hashed again)
    assert (accepted["size_bytes"], accepted["sha256"]) == (len(data), preview["sha256"])
    task = await wait_for_task(app.client, accepted["task_id"], timeout=120)
    assert (task["status"], task["dry_run"]) == ("succeeded", False), task
    assert task["rows_valid"] == data.count(b"\n") - 1
    assert any(k.startswith(f"raw/{accepted['task_id']}/") for k in await _keys(app, "raw"))


async def test_the_janitor_removes_a_session_preview_file_and_confirm_says_so(app: App) -> None:
    preview = await _session_preview(app, csv_of_size(MIB // 2))
    runtime = app.runtime

    kept = await janitor.remove_previews(runtime.sessions, runtime.store, 3600)
    assert kept == 0 and await _keys(app, "sessions")
    removed = await janitor.remove_previews(runtime.sessions, runtime.store, 0)

    assert removed == 1
    assert await _keys(app, "sessions") == []
    answer = await app.client.post(f"/api/ingest/tasks/{preview['task_id']}/confirm", json={})
    assert answer.status_code == 404, answer.text
    assert "no longer kept" in answer.json()["error"]
    assert "Upload the file again" in answer.json()["detail"]
    assert await janitor.remove_previews(runtime.sessions, runtime.store, 0) == 0


async def test_a_preview_says_whether_the_column_types_can_change(app: App) -> None:
    """A new datasource's types come from the file (they can change); a contract's and those of
    a datasource that has rows are fixed, with the reason in a sentence."""
    new = (await _preview(app))["report"]["preview"]
    assert (new["schema_fixed"], new["schema_fixed_why"]) == (False, None)

    sales = (await _preview(app, sales_csv(rows=5), "sales"))["report"]["preview"]
    assert sales["schema_fixed"] is True
    assert sales["schema_fixed_why"] == (
        "This datasource follows the sales contract: only the date order can change."
    )

    loaded = await upload(app.client, content=READINGS, datasource="readings")
    assert (await wait_for_task(app.client, loaded.json()["task_id"]))["status"] == "succeeded"
    more = b"when,amount,code,note\n4/5/2019,40,010,d\n"
    has_rows = (await _preview(app, more))["report"]["preview"]
    assert has_rows["schema_fixed"] is True
    assert "already has rows" in has_rows["schema_fixed_why"]


async def test_confirming_a_preview_made_with_overrides_loads_what_it_showed(app: App) -> None:
    preview = await _preview(app)
    overrides = {
        "types": {"amount": "float"},
        "date_order": "day_first",
        "rename": {"code": "ref"},
        "drop": ["note"],
    }
    again = await app.client.post(
        f"/api/ingest/tasks/{preview['task_id']}/confirm",
        json={"overrides": overrides, "dry_run": True},
    )
    shown = await wait_for_task(app.client, again.json()["task_id"])
    assert shown["report"]["preview"]["rows"][0] == ["2019-05-01", "10.0", "007"]

    loaded = await app.client.post(f"/api/ingest/tasks/{shown['task_id']}/confirm", json={})

    assert loaded.status_code == 202, loaded.text
    task = await wait_for_task(app.client, loaded.json()["task_id"])
    assert task["status"] == "succeeded", task
    assert task["overrides"] == overrides
    rows = await _rows(app, "readings")
    assert sorted(r["when"][:10] for r in rows) == ["2019-05-01", "2019-05-02", "2019-05-03"]
    assert sorted(r["ref"] for r in rows) == ["007", "008", "009"]
    columns = (await app.client.get("/api/datasources/readings")).json()["columns"]
    assert (columns["amount"], "note" in columns) == ("Float64", False)


async def test_a_confirms_overrides_go_on_top_of_the_previews_own(app: App) -> None:
    preview = await _preview(app)
    first = {"types": {"amount": "float"}, "date_order": "day_first", "rename": {"code": "ref"}}
    again = await app.client.post(
        f"/api/ingest/tasks/{preview['task_id']}/confirm",
        json={"overrides": first, "dry_run": True},
    )
    shown = await wait_for_task(app.client, again.json()["task_id"])

    answer = await app.client.post(
        f"/api/ingest/tasks/{shown['task_id']}/confirm",
        json={
            "overrides": {"types": {"note": "string"}, "drop": ["code"]},
            "dry_run": True,
        },
    )

    task = await wait_for_task(app.client, answer.json()["task_id"])
    assert task["status"] == "succeeded", task
    assert task["overrides"] == {
        "types": {"amount": "float", "note": "string"},
        "date_order": "day_first",
        "rename": {},  # code is dropped now: its new name goes with it
        "drop": ["code"],
    }
    assert task["report"]["preview"]["rows"][0] == ["2019-05-01", "10.0", "a"]


async def test_a_confirm_with_an_unknown_key_is_refused(app: App) -> None:
    preview = await _preview(app)
    url = f"/api/ingest/tasks/{preview['task_id']}/confirm"

    typo = await app.client.post(url, json={"dryrun": True})
    nested = await app.client.post(url, json={"overrides": {"type": {"amount": "float"}}})

    assert typo.status_code == 422, typo.text
    assert "unknown field 'dryrun'; did you mean dry_run?" in typo.json()["detail"]
    assert nested.status_code == 422, nested.text
    assert nested.json()["detail"].startswith(
        "overrides: unknown field 'type'; did you mean types? The fields are: types,"
    )
    tasks = (await app.client.get("/api/ingest/tasks")).json()
    assert tasks["total"] == 1  # the preview only


async def test_a_wide_files_preview_stays_small(app: App) -> None:
    """1,000 columns of long values: the preview keeps within its budget (fewer rows, shorter
    values) instead of storing and serving megabytes on every status poll."""
    header = ",".join(f"c{i}" for i in range(1000))
    line = ",".join(f"{i:04d}" + "x" * 190 for i in range(1000))
    wide = (header + "\n" + "\n".join([line] * 60) + "\n").encode()
    task = await _preview(app, wide, "wide")

    assert task["status"] == "succeeded", task
    preview = task["report"]["preview"]
    assert len(preview["columns"]) == 1000 and preview["rows_total"] == 60
    assert 1 <= len(preview["rows"]) < 60
    assert len(preview["rows"][0][0]) < 200 and preview["rows"][0][0].startswith("0000x")
    status = await app.client.get(f"/api/ingest/status/{task['task_id']}")
    assert len(status.content) < 1_000_000, len(status.content)

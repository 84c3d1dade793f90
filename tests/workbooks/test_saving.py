"""Saving a workbook: its document, versions, conflicts from a stale version, restore."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workbooks.conftest import People, save, widget, workbook


async def test_a_saved_workbook_reads_back_with_its_first_version(people: People) -> None:
    saved = await save(people.alice, visibility="shared")
    assert saved["owner"] == "alice" and saved["version"] == 1
    assert saved["widgets"][1]["kind"] == "trend"
    assert saved["widgets"][1]["query"]["granularity"] == "month"
    assert saved["filters"] == {"from": "2024-01-01", "skus": ["A1", "B2"]}
    assert saved["tags"] == ["q4-review"] and saved["visibility"] == "shared"
    read = await people.vic.get(f"/api/workbooks/{saved['id']}")
    assert read.status_code == 200 and read.json() == saved
    versions = (await people.alice.get(f"/api/workbooks/{saved['id']}/versions")).json()
    assert [v["version"] for v in versions["items"]] == [1]
    assert versions["items"][0]["author"] == "alice"


async def test_a_stale_version_is_a_conflict_that_names_what_changed(people: People) -> None:
    saved = await save(people.alice, visibility="shared")
    path = f"/api/workbooks/{saved['id']}"
    first = await people.alice.patch(path, json={"version": 1, "title": "Sales, reviewed"})
    assert first.status_code == 200 and first.json()["version"] == 2
    second = await people.alice.patch(
        path, json={"version": 2, "widgets": [widget("table", dimensions=["sku"])]}
    )
    assert second.json()["version"] == 3
    stale = await people.alice.patch(path, json={"version": 1, "description": "mine"})
    assert stale.status_code == 409, stale.text
    assert "version 3, not 1" in stale.json()["error"]
    assert "title, widgets changed" in stale.json()["error"]
    assert (await people.alice.get(path)).json()["description"] == saved["description"]
    versions = (await people.alice.get(f"{path}/versions")).json()["items"]
    assert [(v["version"], v["changed"]) for v in versions] == [
        (3, ["widgets"]),
        (2, ["title"]),
        (1, ["created"]),
    ]


async def test_an_edit_that_changes_nothing_is_no_new_version(people: People) -> None:
    saved = await save(people.alice)
    same = await people.alice.patch(
        f"/api/workbooks/{saved['id']}", json={"version": 1, "title": saved["title"]}
    )
    assert same.status_code == 200 and same.json()["version"] == 1


async def test_an_older_version_opens_and_restores_as_a_new_version(people: People) -> None:
    saved = await save(people.alice, visibility="shared")
    path = f"/api/workbooks/{saved['id']}"
    await people.alice.patch(path, json={"version": 1, "title": "Renamed", "tags": ["other"]})
    old = await people.vic.get(f"{path}/versions/1")
    assert old.status_code == 200 and old.json()["document"]["title"] == "Sales review"
    assert (await people.vic.get(f"{path}/versions/9")).status_code == 404
    refused = await people.vic.post(f"{path}/versions/1/restore")
    assert refused.status_code == 403, refused.text
    restored = await people.alice.post(f"{path}/versions/1/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["version"] == 3 and body["title"] == "Sales review"
    assert body["tags"] == ["q4-review"]
    latest = (await people.alice.get(f"{path}/versions")).json()["items"][0]
    assert latest["version"] == 3 and latest["changed"] == ["title", "tags"]


async def test_widget_queries_are_checked_like_analytics_queries(people: People) -> None:
    unknown = await people.alice.post(
        "/api/workbooks", json=workbook(widgets=[widget(dimensions=["colour"])])
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"].startswith("widget 1 (a kpi): ")
    assert "colour" in unknown.json()["error"]
    text_sum = widget()
    text_sum["query"]["measures"] = [{"aggregate": "sum", "column": "sku"}]
    refused = await people.alice.post("/api/workbooks", json=workbook(widgets=[text_sum]))
    assert refused.status_code == 422 and "needs a numeric column" in refused.json()["error"]
    nowhere = await people.alice.post("/api/workbooks", json=workbook(datasource="nowhere"))
    assert nowhere.status_code == 422 and "datasource" in nowhere.json()["error"]
    kind = await people.alice.post("/api/workbooks", json=workbook(widgets=[widget("pie")]))
    assert kind.status_code == 422


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"title": "x" * 201}, "title"),
        ({"title": ""}, "title"),
        ({"description": "x" * 2001}, "description"),
        ({"widgets": [widget()] * 51}, "widgets"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["Q4!"]}, "tags"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"shared_with": [f"u{i}" for i in range(101)]}, "shared_with"),
        ({"filters": {f"f{i}": 1 for i in range(51)}}, "filters"),
        ({"filters": {"skus": ["a"] * 101}}, "filters"),
        ({"filters": {"note": "x" * 501}}, "filters"),
        ({"owner": "someone"}, "owner"),
    ],
)
async def test_every_input_is_bounded(people: People, fields: dict[str, Any], where: str) -> None:
    answer = await people.alice.post("/api/workbooks", json=workbook(**fields))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(where)


async def test_no_nul_character_reaches_the_database(people: People) -> None:
    refused = await people.alice.post("/api/workbooks", json=workbook(title="a\x00b"))
    assert refused.status_code == 422 and "NUL" in refused.json()["detail"]
    for params in ({"author": "a\x00"}, {"datasource": "\x00"}, {"tags": "x\x00"}, {"q": "\x00"}):
        listed = await people.alice.get("/api/workbooks", params=params)
        assert listed.status_code in (200, 422), listed.text


@pytest.mark.parametrize(
    ("title", "words"),
    [
        ("   ", "visible character"),
        ("\u200b\u00a0", "visible character"),
        ("Sales\r\nreview", "control characters"),
        ("Sales\treview", "control characters"),
    ],
)
async def test_a_title_shows_something_on_one_line(people: People, title: str, words: str) -> None:
    created = await people.alice.post("/api/workbooks", json=workbook(title=title))
    assert created.status_code == 422, created.text
    assert words in created.json()["detail"]
    saved = await save(people.alice)
    path = f"/api/workbooks/{saved['id']}"
    patched = await people.alice.patch(path, json={"version": 1, "title": title})
    assert patched.status_code == 422 and words in patched.json()["detail"]
    copied = await people.alice.post(f"{path}/copy", json={"title": title})
    assert copied.status_code == 422 and words in copied.json()["detail"]
    exported = (await people.alice.get(f"{path}/export")).json()
    exported["workbook"]["title"] = title
    imported = await people.alice.post("/api/workbooks/import", json=exported)
    assert imported.status_code == 422 and words in imported.json()["detail"]
    query = "mutation($w: JSON!) { createWorkbook(workbook: $w) { id } }"
    answer = await people.alice.post(
        "/graphql", json={"query": query, "variables": {"w": workbook(title=title)}}
    )
    assert words in answer.json()["errors"][0]["message"] + str(answer.json()), answer.text
    unchanged = (await people.alice.get(path)).json()
    assert unchanged["title"] == "Sales review" and unchanged["version"] == 1
    assert (await people.alice.get("/api/workbooks")).json()["total"] == 1

"""Saving a workbook: its document, versions, conflicts from a stale version, restore."""

from __future__ import annotations

from tests.workbooks.conftest import People, save, widget


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

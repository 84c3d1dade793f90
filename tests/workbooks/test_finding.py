"""Finding workbooks: tags, favorites, views (one per person per minute), sorts, full-text
search (FTS5 on SQLite, to_tsvector on PostgreSQL), author and datasource filters, the feed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from backend.workbooks import listing
from tests.workbooks.conftest import People, save


async def _titles(client: httpx.AsyncClient, **params: Any) -> list[str]:
    answer = await client.get("/api/workbooks", params=params)
    assert answer.status_code == 200, answer.text
    return [item["title"] for item in answer.json()["items"]]


async def _three(people: People) -> list[dict[str, Any]]:
    return [
        await save(people.alice, title="Margins", description="Profit by region",
                   tags=["finance", "q4-review"], visibility="shared"),
        await save(people.bob, title="bookings", description="Orders booked per week",
                   tags=["sales"], visibility="shared"),
        await save(people.alice, title="Churn", description="Customers lost", tags=["finance"],
                   visibility="shared"),
    ]  # fmt: skip


async def test_tags_filter_and_the_most_used_list(people: People) -> None:
    await _three(people)
    assert await _titles(people.vic, tags="finance") == ["Churn", "Margins"]
    assert await _titles(people.vic, tags="finance,q4-review") == ["Margins"]
    assert await _titles(people.vic, tags="nothing") == []
    tags = (await people.vic.get("/api/tags", params={"limit": 2})).json()
    assert tags == [{"name": "finance", "count": 2}, {"name": "q4-review", "count": 1}]
    many = await people.vic.get(
        "/api/workbooks", params={"tags": ",".join(f"t{i}" for i in range(21))}
    )
    assert many.status_code == 422


async def test_sorts_author_and_datasource(people: People) -> None:
    await _three(people)
    assert await _titles(people.vic) == ["Churn", "bookings", "Margins"]  # recent
    assert await _titles(people.vic, sort="title") == ["bookings", "Churn", "Margins"]
    assert await _titles(people.vic, author="alice") == ["Churn", "Margins"]
    assert await _titles(people.vic, datasource="orders", author="bob") == ["bookings"]
    assert await _titles(people.vic, datasource="elsewhere") == []
    page = (await people.vic.get("/api/workbooks", params={"limit": 2})).json()
    assert page["total"] == 3 and page["next_offset"] == 2 and len(page["items"]) == 2
    assert (await people.vic.get("/api/workbooks", params={"sort": "best"})).status_code == 422


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("profit", ["Margins"]),  # description
        ("CHURN", ["Churn"]),  # title, any case
        ("finance", ["Churn", "Margins"]),  # tag
        ("q4-review", ["Margins"]),  # a tag with a dash
        ("orders week", ["bookings"]),  # every word
        ("orders profit", []),
        ('" OR * NEAR(', []),  # no search syntax reaches the engine
        ("%", ["Churn", "bookings", "Margins"]),  # no words: no search
    ],
)
async def test_full_text_search(people: People, q: str, expected: list[str]) -> None:
    await _three(people)
    assert await _titles(people.vic, q=q) == expected


async def test_search_follows_edits_and_deletes(people: People) -> None:
    first, *_ = await _three(people)
    path = f"/api/workbooks/{first['id']}"
    await people.alice.patch(path, json={"version": 1, "description": "Revenue less costs"})
    assert await _titles(people.vic, q="profit") == []
    assert await _titles(people.vic, q="revenue") == ["Margins"]
    await people.alice.delete(path)
    assert await _titles(people.vic, q="revenue") == []


async def test_favorites_are_per_person(people: People) -> None:
    margins, bookings, _ = await _three(people)
    starred = await people.vic.post(f"/api/workbooks/{bookings['id']}/favorite")
    assert starred.json()["favorited"] is True and starred.json()["favorites"] == 1
    again = await people.vic.post(f"/api/workbooks/{bookings['id']}/favorite")
    assert again.json()["favorites"] == 1
    await people.bob.post(f"/api/workbooks/{margins['id']}/favorite")
    assert await _titles(people.vic, favorites="true") == ["bookings"]
    assert await _titles(people.bob, favorites="true") == ["Margins"]
    read = (await people.bob.get(f"/api/workbooks/{bookings['id']}")).json()
    assert read["favorited"] is False and read["favorites"] == 1
    feed = (await people.vic.get("/api/workbooks/feed")).json()
    assert [w["title"] for w in feed["favorites"]] == ["bookings"]
    gone = await people.vic.delete(f"/api/workbooks/{bookings['id']}/favorite")
    assert gone.json()["favorited"] is False and gone.json()["favorites"] == 0
    assert await _titles(people.vic, favorites="true") == []


async def test_views_count_once_a_minute_and_make_popular(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    margins, bookings, churn = await _three(people)
    now = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(listing, "utcnow", lambda: now)

    async def view(client: httpx.AsyncClient, workbook: dict[str, Any]) -> dict[str, Any]:
        answer = await client.post(f"/api/workbooks/{workbook['id']}/view")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    assert await view(people.vic, bookings) == {"counted": True, "views": 1}
    assert await view(people.vic, bookings) == {"counted": False, "views": 1}
    assert await view(people.bob, bookings) == {"counted": True, "views": 2}
    now += dt.timedelta(seconds=61)
    assert await view(people.vic, bookings) == {"counted": True, "views": 3}
    assert await view(people.vic, churn) == {"counted": True, "views": 1}
    assert (await people.vic.get(f"/api/workbooks/{bookings['id']}")).json()["views"] == 3
    assert await _titles(people.vic, sort="popular") == ["bookings", "Churn", "Margins"]
    feed = (await people.vic.get("/api/workbooks/feed")).json()
    assert [w["title"] for w in feed["popular"]] == ["bookings", "Churn"]
    now += dt.timedelta(days=31)  # popular counts the last 30 days
    assert await view(people.alice, margins) == {"counted": True, "views": 1}
    assert await _titles(people.vic, sort="popular") == ["Margins", "Churn", "bookings"]


async def test_the_feed(people: People) -> None:
    await _three(people)
    private = await save(people.bob, title="Draft")
    feed = (await people.bob.get("/api/workbooks/feed")).json()
    assert [w["title"] for w in feed["recent"]] == ["Draft", "bookings"]
    assert [w["title"] for w in feed["shared_with_me"]] == ["Churn", "Margins"]
    assert feed["favorites"] == [] and feed["popular"] == []
    alices = (await people.alice.get("/api/workbooks/feed")).json()
    assert private["id"] not in {w["id"] for part in alices.values() for w in part}

"""What a workbook's saves notify: the people it is newly shared with (once), and those who
favorited it when someone else changes it; never the person who saved it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.workbooks.conftest import People, save


async def titles(client: httpx.AsyncClient) -> list[str]:
    answer = await client.get("/api/notifications")
    assert answer.status_code == 200, answer.text
    return [item["title"] for item in answer.json()["items"]]


async def edit_workbook(
    client: httpx.AsyncClient, book: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    answer = await client.patch(
        f"/api/workbooks/{book['id']}", json={"version": book["version"], **fields}
    )
    assert answer.status_code == 200, answer.text
    changed: dict[str, Any] = answer.json()
    return changed


async def test_sharing_notifies_each_new_person_once(people: People) -> None:
    await people.alice.patch("/api/users/me", json={"display_name": "Ana"})
    book = await save(people.alice, title="Q1 review", visibility="users", shared_with=["vic"])
    shared = "Ana shared the workbook “Q1 review” with you."
    assert await titles(people.vic) == [shared]
    [item] = (await people.vic.get("/api/notifications")).json()["items"]
    assert item["kind"] == "workbook_shared" and item["link"] == f"/workbooks/{book['id']}"
    # saved again, with bob added: vic hears nothing new of the share, bob does
    book = await edit_workbook(
        people.alice, book, shared_with=["vic", "bob"], description="Now with Bob"
    )
    assert await titles(people.bob) == [shared]
    assert await titles(people.vic) == [shared]
    assert await titles(people.alice) == []


async def test_a_visibility_change_to_named_people_notifies_them(people: People) -> None:
    book = await save(people.alice, title="Q2", visibility="private")
    assert await titles(people.vic) == []
    await edit_workbook(people.alice, book, visibility="users", shared_with=["vic"])
    assert await titles(people.vic) == ["alice shared the workbook “Q2” with you."]


async def test_a_change_notifies_those_who_favorited_it_but_not_the_editor(
    people: People,
) -> None:
    book = await save(people.alice, title="Team board", visibility="shared")
    for client in (people.alice, people.bob, people.vic):
        favorited = await client.post(f"/api/workbooks/{book['id']}/favorite")
        assert favorited.status_code == 200, favorited.text
    book = await edit_workbook(people.alice, book, title="Team board 2")
    changed = "alice changed the workbook “Team board 2”."
    assert await titles(people.bob) == [changed]
    assert await titles(people.vic) == [changed]
    assert await titles(people.alice) == []
    [item] = (await people.bob.get("/api/notifications")).json()["items"]
    assert item["kind"] == "workbook_changed" and item["body"] == "Changed: title."
    # made private: those who may no longer see it hear nothing of it
    book = await edit_workbook(people.alice, book, visibility="private")
    book = await edit_workbook(people.alice, book, title="Secret")
    assert await titles(people.bob) == [changed]

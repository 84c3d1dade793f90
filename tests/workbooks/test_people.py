"""Workbooks and people: a workbook is shared only with users who exist and are enabled, and a
user's public profile lists the workbooks of theirs the caller may see."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event

from backend.auth import users
from backend.db import session_scope
from tests.workbooks.conftest import People, save, workbook


async def _ask(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    answer = await client.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _disable(people: People, name: str) -> None:
    async with session_scope(people.app.runtime.sessions) as session:
        await users.disable(session, name)


async def test_a_workbook_is_shared_only_with_users_who_exist(people: People) -> None:
    refused = await people.alice.post(
        "/api/workbooks", json=workbook(visibility="users", shared_with=["vic", "nobody"])
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "No user is called 'nobody'."
    shared = await save(people.alice, visibility="users", shared_with=["vic"])
    path = f"/api/workbooks/{shared['id']}"
    edit = await people.alice.patch(path, json={"version": 1, "shared_with": ["vic", "Bob"]})
    assert edit.status_code == 422 and "'Bob'" in edit.json()["error"]  # handles keep their case
    assert (await people.alice.get(path)).json()["shared_with"] == ["vic"]


async def test_a_disabled_user_is_not_shared_with_but_old_shares_still_save(
    people: People,
) -> None:
    shared = await save(people.alice, visibility="users", shared_with=["vic"])
    await _disable(people, "vic")
    refused = await people.alice.post(
        "/api/workbooks", json=workbook(visibility="users", shared_with=["vic"])
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "The user 'vic' is disabled."
    path = f"/api/workbooks/{shared['id']}"
    renamed = await people.alice.patch(path, json={"version": 1, "title": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["shared_with"] == ["vic"]


async def test_graphql_refuses_unknown_handles_as_rest_does(people: People) -> None:
    created = await _ask(
        people.alice,
        "mutation($w: JSON!) { createWorkbook(workbook: $w) { id } }",
        w=workbook(visibility="users", shared_with=["bob", "carol"]),
    )
    error = created["errors"][0]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert "No user is called 'carol'." in error["message"]
    shared = await save(people.alice, visibility="users", shared_with=["bob"])
    edited = await _ask(
        people.alice,
        "mutation($id: ID!, $e: JSON!) { updateWorkbook(id: $id, edit: $e) { version } }",
        id=shared["id"],
        e={"version": 1, "shared_with": ["bob", "zed"]},
    )
    assert "No user is called 'zed'." in edited["errors"][0]["message"]


async def _profile(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    answer = await client.get(f"/api/users/{name}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_profile_lists_the_workbooks_the_caller_may_see(people: People) -> None:
    private = await save(people.alice, title="Private")
    shared = await save(people.alice, title="Shared", visibility="shared")
    named = await save(people.alice, title="For vic", visibility="users", shared_with=["vic"])
    await save(people.bob, title="Bob's", visibility="shared")
    seen = {
        who: [w["title"] for w in (await _profile(client, "alice"))["workbooks"]]
        for who, client in (
            ("alice", people.alice),
            ("bob", people.bob),
            ("vic", people.vic),
            ("admin", people.admin),
        )
    }
    assert seen == {
        "alice": ["For vic", "Shared", "Private"],  # the most recently changed first
        "bob": ["Shared"],
        "vic": ["For vic", "Shared"],
        "admin": ["Shared"],  # an admin may open any workbook; a profile shows none private
    }
    mine = await _profile(people.alice, "alice")
    assert mine["name"] == "alice" and mine["workbook_count"] == 3
    assert [w["id"] for w in mine["workbooks"]] == [named["id"], shared["id"], private["id"]]
    assert set(mine["workbooks"][0]) == {"id", "title", "updated_at"}
    assert (await _profile(people.vic, "vic"))["workbooks"] == []
    assert (await people.vic.get("/api/users/nobody")).status_code == 404


async def test_a_profile_lists_the_twenty_most_recent(people: People) -> None:
    for number in range(22):
        await save(people.bob, title=f"Report {number}", visibility="shared")
    profile = await _profile(people.vic, "bob")
    assert profile["workbook_count"] == 22
    assert [w["title"] for w in profile["workbooks"]] == [f"Report {n}" for n in range(21, 1, -1)]


async def test_graphql_profiles_hide_what_rest_hides(people: People) -> None:
    await save(people.alice, title="Private")
    shared = await save(people.alice, title="Shared", visibility="shared")
    query = "query($n: String!) { user(name: $n) { name workbookCount workbooks { id title } } }"
    for client in (people.bob, people.admin):
        found = (await _ask(client, query, n="alice"))["data"]["user"]
        assert found == {
            "name": "alice",
            "workbookCount": 1,
            "workbooks": [{"id": shared["id"], "title": "Shared"}],
        }
    owned = (await _ask(people.alice, query, n="alice"))["data"]["user"]
    assert owned["workbookCount"] == 2


async def _statements_to_list(people: People, client: httpx.AsyncClient) -> tuple[list[str], Any]:
    """The SQL statements on workbooks and users one GET /api/workbooks runs, and its answer."""
    runtime = people.app.runtime
    engines = {id(e): e for e in (runtime.engine, runtime.reader) if e is not None}.values()
    seen: list[str] = []

    def count(*args: Any) -> None:
        statement = str(args[2])
        if "workbook" in statement or "FROM users" in statement:  # not the workers' own
            seen.append(statement)

    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        answer = await client.get("/api/workbooks")
    finally:
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert answer.status_code == 200, answer.text
    return seen, answer.json()


async def test_workbooks_name_their_owners_display_name_in_one_lookup_per_page(
    people: People,
) -> None:
    renamed = await people.alice.patch("/api/users/me", json={"display_name": "Alice Liddell"})
    assert renamed.status_code == 200, renamed.text
    await save(people.alice, visibility="shared")
    await save(people.bob, visibility="shared")
    await _statements_to_list(people, people.vic)  # a first request fills the caches
    few, answer = await _statements_to_list(people, people.vic)
    names = {w["owner"]: w["owner_display_name"] for w in answer["items"]}
    assert names == {"alice": "Alice Liddell", "bob": "bob"}
    for client in (people.alice, people.bob, people.admin) * 2:
        await save(client, visibility="shared")
    many, answer = await _statements_to_list(people, people.vic)
    assert len(answer["items"]) == 8
    assert len(many) == len(few), (many, few)  # not a query per workbook (nor per owner)
    feed = (await people.vic.get("/api/workbooks/feed")).json()
    assert {w["owner_display_name"] for w in feed["shared_with_me"]} >= {"Alice Liddell", "bob"}
    query = '{ workbooks(author: "alice") { items { owner ownerDisplayName } } }'
    listed = (await _ask(people.vic, query))["data"]["workbooks"]["items"]
    assert {(w["owner"], w["ownerDisplayName"]) for w in listed} == {("alice", "Alice Liddell")}

"""Workbooks and people: a workbook is shared only with users who exist and are enabled, and a
user's public profile lists the workbooks of theirs the caller may see."""

from __future__ import annotations

from typing import Any

import httpx

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

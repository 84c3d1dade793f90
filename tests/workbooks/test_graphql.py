"""GraphQL keeps REST's rules: the same documents, visibility (an invisible workbook is not
found), conflicts and roles."""

from __future__ import annotations

from typing import Any

import httpx

from tests.workbooks.conftest import People, save, workbook

FIELDS = "id title owner version visibility tags widgets views favorited"


async def _ask(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    answer = await client.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_graphql_saves_finds_and_hides_like_rest(people: People) -> None:
    created = await _ask(
        people.alice,
        f"mutation($w: JSON!) {{ createWorkbook(workbook: $w) {{ {FIELDS} }} }}",
        w=workbook(visibility="shared"),
    )
    shared = created["data"]["createWorkbook"]
    assert shared["owner"] == "alice" and shared["widgets"][0]["kind"] == "kpi"
    private = await save(people.alice, title="Hidden")
    listed = await _ask(people.vic, '{ workbooks(q: "quarterly") { total items { id } } }')
    assert [w["id"] for w in listed["data"]["workbooks"]["items"]] == [shared["id"]]
    hidden = await _ask(
        people.bob, "query($id: ID!) { workbook(id: $id) { id } }", id=private["id"]
    )
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    taken = await _ask(
        people.vic,
        "mutation($id: ID!, $e: JSON!) { updateWorkbook(id: $id, edit: $e) { id } }",
        id=shared["id"],
        e={"version": 1, "title": "Mine"},
    )
    assert taken["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    edit = "mutation($id: ID!, $e: JSON!) { updateWorkbook(id: $id, edit: $e) { version } }"
    first = await _ask(people.alice, edit, id=shared["id"], e={"version": 1, "title": "New"})
    assert first["data"]["updateWorkbook"]["version"] == 2
    stale = await _ask(people.alice, edit, id=shared["id"], e={"version": 1, "tags": []})
    assert stale["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "title changed" in stale["errors"][0]["message"]
    bad = await _ask(people.alice, edit, id=shared["id"], e={"version": 2, "title": "x" * 201})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    viewed = await _ask(
        people.vic,
        "mutation($id: ID!) { viewWorkbook(id: $id) { counted views } }",
        id=shared["id"],
    )
    assert viewed["data"]["viewWorkbook"] == {"counted": True, "views": 1}
    feed = await _ask(people.vic, "{ workbookFeed { sharedWithMe { id } } workbookTags { name } }")
    assert feed["data"]["workbookFeed"]["sharedWithMe"] == [{"id": shared["id"]}]
    old = await _ask(
        people.vic,
        "query($id: ID!) { workbookVersion(id: $id, version: 1) { document } }",
        id=shared["id"],
    )
    assert old["data"]["workbookVersion"]["document"]["title"] == "Sales review"


async def test_graphql_refuses_what_postgresql_cannot_hold(people: People) -> None:
    for query in (
        '{ workbook(id: "x\\u0000") { id } }',
        '{ workbooks(author: "a\\u0000") { total } }',
        '{ workbooks(tags: ["t\\u0000"]) { total } }',
    ):
        answer = await _ask(people.alice, query)
        assert answer["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "INVALID_INPUT"), answer

"""Workbooks leaving and joining: save a copy, export as a JSON document, import it (on an
installation without its datasource too), per role; and `me`'s effective role."""

from __future__ import annotations

import json
from typing import Any

import httpx

from backend.auth import service as auth_service
from backend.auth.roles import Role
from backend.db import session_scope
from tests.workbooks.conftest import People, save, widget

PORTABLE = ("title", "description", "datasource", "filters", "widgets", "tags")


async def _export(client: httpx.AsyncClient, workbook_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/workbooks/{workbook_id}/export")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    body: dict[str, Any] = answer.json()
    return body


async def test_export_then_import_gives_back_the_same_document(people: People) -> None:
    original = await save(people.alice, visibility="shared", filters={"sku": ["A1"]})
    exported = await _export(people.alice, original["id"])
    assert exported["format"] == "sales-ingest.workbook" and exported["version"] == 1
    assert set(exported["workbook"]) == set(PORTABLE)  # no id, owner, shares or visibility
    answer = await people.vic.post("/api/workbooks/import", json=exported)
    assert answer.status_code == 201, answer.text
    imported = answer.json()
    assert imported["warnings"] == []
    copy = imported["workbook"]
    assert {k: copy[k] for k in PORTABLE} == {k: original[k] for k in PORTABLE}
    assert (copy["owner"], copy["visibility"], copy["version"]) == ("vic", "private", 1)
    assert copy["id"] != original["id"]
    assert (await _export(people.vic, copy["id"]))["workbook"] == exported["workbook"]


async def test_the_export_is_named_after_the_title(people: People) -> None:
    saved = await save(people.alice, title="Ventes été / 2024")
    answer = await people.alice.get(f"/api/workbooks/{saved['id']}/export")
    disposition = answer.headers["content-disposition"]
    assert "/" not in disposition.split("filename*=")[0]
    assert "filename*=UTF-8''Ventes%20%C3%A9t%C3%A9%20%2F%202024.workbook.json" in disposition


async def test_a_private_workbook_is_not_exported_copied_or_read_as_csv_by_another(
    people: People,
) -> None:
    private = await save(people.alice)
    path = f"/api/workbooks/{private['id']}"
    for client in (people.vic, people.bob):
        answers = [
            await client.get(f"{path}/export"),
            await client.post(f"{path}/copy"),
            await client.get(f"{path}/widgets/0/data.csv"),
        ]
        assert [a.status_code for a in answers] == [404, 404, 404], [a.text for a in answers]
        assert "you may see" in answers[0].json()["error"]
    assert (await people.admin.get(f"{path}/export")).status_code == 200


async def test_a_copy_is_private_owned_by_the_caller_with_the_tags(people: People) -> None:
    shared = await save(people.alice, visibility="shared", tags=["q4-review", "orders"])
    answer = await people.vic.post(f"/api/workbooks/{shared['id']}/copy")
    assert answer.status_code == 201, answer.text
    copy = answer.json()
    assert (copy["owner"], copy["visibility"], copy["version"]) == ("vic", "private", 1)
    assert copy["shared_with"] == [] and copy["tags"] == ["orders", "q4-review"]
    assert copy["title"] == "Sales review (copy)" and copy["widgets"] == shared["widgets"]
    assert (await people.bob.get(f"/api/workbooks/{copy['id']}")).status_code == 404
    named = await people.vic.post(
        f"/api/workbooks/{shared['id']}/copy", json={"title": "My review"}
    )
    assert named.status_code == 201 and named.json()["title"] == "My review"
    assert (await people.alice.get(f"/api/workbooks/{shared['id']}")).json()["version"] == 1


async def test_an_anonymous_caller_copies_exports_and_imports_nothing(people: People) -> None:
    shared = await save(people.alice, visibility="shared")
    exported = await _export(people.alice, shared["id"])
    async with people.app.client_as(None) as nobody:
        answers = [
            await nobody.post(f"/api/workbooks/{shared['id']}/copy"),
            await nobody.get(f"/api/workbooks/{shared['id']}/export"),
            await nobody.post("/api/workbooks/import", json=exported),
            await nobody.get("/api/workbooks/starter"),
        ]
    assert all(a.status_code in (401, 403) for a in answers), [a.text for a in answers]


async def test_an_import_in_another_format_or_version_is_refused_with_a_sentence(
    people: People,
) -> None:
    exported = await _export(people.alice, (await save(people.alice))["id"])
    cases = [
        ({**exported, "format": "superset.dashboard"}, "not a workbook export"),
        ({**exported, "version": 2}, "version 1"),
        ({**exported, "workbook": {**exported["workbook"], "widgets": [widget()] * 51}}, "widgets"),
        ({**exported, "workbook": {**exported["workbook"], "visibility": "shared"}}, "private"),
        ({"title": "just a workbook"}, "not a workbook export"),
    ]
    for body, words in cases:
        answer = await people.vic.post("/api/workbooks/import", json=body)
        assert answer.status_code == 422, answer.text
        found = answer.json()
        assert words in f"{found['error']} {found['detail']}", found
    garbage = await people.vic.post("/api/workbooks/import", content=b"{not json")
    assert garbage.status_code == 422 and garbage.json()["error"].endswith("export")
    huge = await people.vic.post("/api/workbooks/import", content=b" " * (5 * 1024 * 1024))
    assert huge.status_code == 413, huge.text


async def test_an_import_nested_too_deeply_is_a_400_that_says_so(people: People) -> None:
    deep = b'{"format": "sales-ingest.workbook", "version": 1, "workbook": ' + b"[" * 100_000
    answer = await people.vic.post(
        "/api/workbooks/import", content=deep, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "The JSON nests too deeply"
    assert "export" in answer.json()["detail"]


async def test_an_import_without_its_datasource_succeeds_with_warnings(people: People) -> None:
    exported = await _export(people.alice, (await save(people.alice))["id"])
    elsewhere = json.loads(json.dumps(exported).replace('"orders"', '"returns"'))
    answer = await people.vic.post("/api/workbooks/import", json=elsewhere)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["workbook"]["datasource"] == "returns"
    assert len(body["warnings"]) == 3  # the workbook's and its two widgets'
    assert "no datasource 'returns'" in body["warnings"][0]
    assert body["warnings"][1].startswith("Widget 1 (a kpi) reads datasource 'returns'")


async def test_graphql_copies_exports_and_imports(people: People) -> None:
    shared = await save(people.alice, visibility="shared")

    async def gql(query: str, **variables: Any) -> dict[str, Any]:
        answer = await people.vic.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        return body["data"]

    copied = await gql(
        'mutation($id: ID!) { copyWorkbook(id: $id, title: "Mine") { owner visibility title } }',
        id=shared["id"],
    )
    assert copied["copyWorkbook"] == {"owner": "vic", "visibility": "private", "title": "Mine"}
    exported = await gql("query($id: ID!) { exportWorkbook(id: $id) }", id=shared["id"])
    document = exported["exportWorkbook"]
    assert document == await _export(people.alice, shared["id"])
    imported = await gql(
        "mutation($d: JSON!) { importWorkbook(document: $d) { warnings workbook { owner title } } }",
        d=document,
    )
    assert imported["importWorkbook"] == {
        "warnings": [],
        "workbook": {"owner": "vic", "title": "Sales review"},
    }


async def test_me_tells_the_effective_role_of_the_token(people: People) -> None:
    """A user's token may carry a lower role than the user's own."""
    answer = await people.vic.get("/api/users/me")
    assert answer.json()["effective_role"] == "viewer"
    admin = await people.admin.get("/api/users/me")
    assert admin.json()["effective_role"] == "admin"
    async with session_scope(people.app.runtime.sessions) as session:
        created = await auth_service.create(
            session, name="alice-reads", role=Role.VIEWER, created_by="tests", user="alice"
        )
    token = created.token
    async with people.app.client_as(token) as lower:
        me = (await lower.get("/api/users/me")).json()
        gql = await lower.post("/graphql", json={"query": "{ me { role effectiveRole } }"})
    assert (me["role"], me["effective_role"]) == ("uploader", "viewer")
    assert gql.json()["data"]["me"] == {"role": "uploader", "effectiveRole": "viewer"}

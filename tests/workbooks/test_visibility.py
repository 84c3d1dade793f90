"""Who sees, saves, shares, changes and deletes a workbook, per role: a workbook one may not see
is a 404 everywhere (by id, in lists, search, feed, tags), never a 403."""

from __future__ import annotations

import httpx

from tests.workbooks.conftest import People, save


async def _listed(client: httpx.AsyncClient, params: dict[str, str] | None = None) -> set[str]:
    answer = await client.get("/api/workbooks", params=params)
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["items"]}


async def _in_feed(client: httpx.AsyncClient) -> set[str]:
    feed = (await client.get("/api/workbooks/feed")).json()
    return {item["id"] for part in feed.values() for item in part}


async def _hidden_from(client: httpx.AsyncClient, workbook_id: str) -> None:
    path = f"/api/workbooks/{workbook_id}"
    answers = [
        await client.get(path),
        await client.patch(path, json={"version": 1, "title": "mine now"}),
        await client.delete(path),
        await client.get(f"{path}/versions"),
        await client.get(f"{path}/versions/1"),
        await client.post(f"{path}/versions/1/restore"),
        await client.post(f"{path}/favorite"),
        await client.delete(f"{path}/favorite"),
        await client.post(f"{path}/view"),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers), [a.text for a in answers]
    assert workbook_id not in await _listed(client)
    assert workbook_id not in await _listed(client, {"q": "quarterly"})
    assert workbook_id not in await _listed(client, {"tags": "secret"})
    assert workbook_id not in await _in_feed(client)
    tags = (await client.get("/api/tags")).json()
    assert "secret" not in {t["name"] for t in tags}


async def test_a_private_workbook_is_its_owners_alone(people: People) -> None:
    mine = await save(people.alice, tags=["secret"])
    for other in (people.bob, people.vic):
        await _hidden_from(other, mine["id"])
    assert mine["id"] in await _listed(people.alice, {"q": "quarterly", "tags": "secret"})
    assert mine["id"] in await _in_feed(people.alice)
    assert (await people.admin.get(f"/api/workbooks/{mine['id']}")).status_code == 200
    for method in ("GET", "PATCH", "DELETE", "POST"):
        for path in ("/api/workbooks/nope", "/api/workbooks/nope/favorite"):
            assert (await people.alice.request(method, path)).status_code == 404
    unknown = await people.alice.get("/api/workbooks/" + "0" * 32)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == (await people.bob.get(f"/api/workbooks/{mine['id']}")).json()[
        "error"
    ].replace(mine["id"], "0" * 32)


async def test_a_shared_workbook_is_seen_by_all_and_changed_by_its_owner(people: People) -> None:
    shared = await save(people.alice, visibility="shared")
    path = f"/api/workbooks/{shared['id']}"
    for other in (people.bob, people.vic):
        assert (await other.get(path)).status_code == 200
        assert shared["id"] in await _listed(other)
        assert shared["id"] in await _in_feed(other)
        patched = await other.patch(path, json={"version": 1, "title": "Taken"})
        assert patched.status_code == 403, patched.text
        assert (await other.delete(path)).status_code == 403
    by_admin = await people.admin.patch(path, json={"version": 1, "title": "Fixed by an admin"})
    assert by_admin.status_code == 200 and by_admin.json()["owner"] == "alice"
    assert (await people.alice.delete(path)).status_code == 204
    assert (await people.alice.get(path)).status_code == 404
    assert (await people.bob.get(path)).status_code == 404


async def test_a_workbook_shared_with_named_people_is_theirs_to_see(people: People) -> None:
    named = await save(people.alice, visibility="users", shared_with=["vic"], tags=["secret"])
    path = f"/api/workbooks/{named['id']}"
    assert (await people.vic.get(path)).status_code == 200
    assert named["id"] in await _listed(people.vic, {"tags": "secret"})
    assert named["id"] in {
        w["id"] for w in (await people.vic.get("/api/workbooks/feed")).json()["shared_with_me"]
    }
    assert (await people.vic.patch(path, json={"version": 1, "title": "x"})).status_code == 403
    await _hidden_from(people.bob, named["id"])
    now_bob = await people.alice.patch(path, json={"version": 1, "shared_with": ["bob"]})
    assert now_bob.status_code == 200, now_bob.text
    assert (await people.bob.get(path)).status_code == 200
    assert (await people.vic.get(path)).status_code == 404


async def test_viewers_keep_private_workbooks_and_may_not_share(people: People) -> None:
    own = await save(people.vic)
    assert own["owner"] == "vic" and own["visibility"] == "private"
    for fields in ({"visibility": "shared"}, {"visibility": "users", "shared_with": ["bob"]}):
        refused = await people.vic.post(
            "/api/workbooks", json={"title": "t", "datasource": "orders", **fields}
        )
        assert refused.status_code == 403, refused.text
        assert "uploader" in refused.json()["error"]
    path = f"/api/workbooks/{own['id']}"
    share = await people.vic.patch(path, json={"version": 1, "visibility": "shared"})
    assert share.status_code == 403
    renamed = await people.vic.patch(path, json={"version": 1, "title": "Mine, renamed"})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    await _hidden_from(people.alice, own["id"])
    assert (await people.vic.delete(path)).status_code == 204


async def test_without_a_role_nothing_is_seen(people: People) -> None:
    anonymous = people.app.client_as(None)
    async with anonymous:
        assert (await anonymous.get("/api/workbooks")).status_code == 401
        assert (await anonymous.post("/api/workbooks", json={})).status_code == 401


async def test_an_admins_feed_and_tags_hold_no_other_persons_private_workbook(
    people: People,
) -> None:
    private = await save(people.alice, tags=["secret-tag-zebra"])
    path = f"/api/workbooks/{private['id']}"
    assert (await people.admin.post(f"{path}/view")).status_code == 200  # popular with views
    assert private["id"] not in await _in_feed(people.admin)
    tags = (await people.admin.get("/api/tags")).json()
    assert "secret-tag-zebra" not in {t["name"] for t in tags}
    query = "{ workbookFeed { sharedWithMe { id } popular { id } } workbookTags { name } }"
    data = (await people.admin.post("/graphql", json={"query": query})).json()["data"]
    assert data["workbookFeed"] == {"sharedWithMe": [], "popular": []}
    assert "secret-tag-zebra" not in {t["name"] for t in data["workbookTags"]}
    # an admin still opens it by id and finds it in a list, as before
    assert (await people.admin.get(path)).status_code == 200
    assert private["id"] in await _listed(people.admin, {"tags": "secret-tag-zebra"})
    # shared, it is in the admin's feed and chips like anyone's
    shared = await save(people.bob, visibility="shared", tags=["open-tag"])
    assert shared["id"] in await _in_feed(people.admin)
    assert "open-tag" in {t["name"] for t in (await people.admin.get("/api/tags")).json()}


async def test_shared_with_goes_only_with_visibility_users_and_needs_the_uploader_role(
    people: People,
) -> None:
    for visibility in ("private", "shared"):
        refused = await people.alice.post(
            "/api/workbooks",
            json={"title": "t", "datasource": "orders", "visibility": visibility,
                  "shared_with": ["vic"]},
        )  # fmt: skip
        assert refused.status_code == 422, refused.text
        assert "visibility is users" in refused.json()["error"]
    by_viewer = await people.vic.post(
        "/api/workbooks",
        json={
            "title": "t",
            "datasource": "orders",
            "visibility": "private",
            "shared_with": ["bob"],
        },
    )
    assert by_viewer.status_code == 403, by_viewer.text
    assert "uploader" in by_viewer.json()["error"]
    own = await save(people.vic)
    path = f"/api/workbooks/{own['id']}"
    patched = await people.vic.patch(path, json={"version": 1, "shared_with": ["bob"]})
    assert patched.status_code == 403, patched.text
    private = await save(people.alice)
    path = f"/api/workbooks/{private['id']}"
    patched = await people.alice.patch(path, json={"version": 1, "shared_with": ["vic"]})
    assert patched.status_code == 422 and "visibility is users" in patched.json()["error"]
    # leaving "users" drops the names (they would mean nothing); they come back with a restore
    named = await save(people.alice, visibility="users", shared_with=["vic"])
    path = f"/api/workbooks/{named['id']}"
    unshared = await people.alice.patch(path, json={"version": 1, "visibility": "private"})
    assert unshared.status_code == 200, unshared.text
    assert unshared.json()["shared_with"] == []
    assert (await people.vic.get(path)).status_code == 404
    restored = await people.alice.post(f"{path}/versions/1/restore")
    assert restored.json()["shared_with"] == ["vic"] and restored.json()["visibility"] == "users"

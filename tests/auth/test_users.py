"""People as records, on SQLite and PostgreSQL: every token belongs to a user whose handle is
the caller's name; a disabled user's tokens stop working; profiles read and change over REST and
GraphQL; the user count, public profiles and the admins' list (never a token), with the role each
route needs; the CLI's users commands."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zoneinfo
from typing import Any

import pytest

from backend.auth import service as auth_service
from backend.auth import users
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import session_scope
from backend.errors import Conflict, InvalidInput
from tests.conftest import App, Backend, app_for, make_token
from tests.e2e.processes import ROOT, process_env


async def user_token(app: App, name: str, role: Role, token_role: Role | None = None) -> str:
    async with session_scope(app.runtime.sessions) as session:
        await users.create(session, name, role, f"{name.title()} Example")
        created = await auth_service.create(
            session, name=None, role=token_role, created_by="tests", user=name
        )
    return created.token


async def graphql(app: App, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
    async with app.client_as(token) as client:
        answer = await client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = answer.json()
    return body


async def test_a_token_with_a_user_speaks_as_that_user(app: App) -> None:
    token = await user_token(app, "ana", Role.UPLOADER)
    async with app.client_as(token) as ana:
        me = (await ana.get("/api/users/me")).json()
    assert me["name"] == "ana" and me["display_name"] == "Ana Example"
    assert me["role"] == "uploader" and me["time_zone"] == "UTC"
    principal = await app.runtime.authenticate(token)
    assert principal is not None and principal.name == "ana" and principal.user is not None


async def test_a_token_without_a_user_gets_the_user_of_its_name(app: App) -> None:
    token = await make_token(app.runtime, Role.VIEWER, "bruno")
    async with app.client_as(token) as bruno:
        me = (await bruno.get("/api/users/me")).json()
    assert (me["name"], me["role"]) == ("bruno", "viewer")


async def test_a_token_never_has_more_than_its_user(app: App) -> None:
    await user_token(app, "carla", Role.VIEWER)
    async with session_scope(app.runtime.sessions) as session:
        with pytest.raises(InvalidInput):
            await auth_service.create(
                session, name=None, role=Role.ADMIN, created_by="tests", user="carla"
            )


async def test_a_disabled_users_tokens_are_refused(app: App) -> None:
    token = await user_token(app, "dora", Role.UPLOADER)
    async with app.client_as(token) as dora:
        assert (await dora.get("/api/users/me")).status_code == 200
        async with session_scope(app.runtime.sessions) as session:
            await users.disable(session, "dora")
        app.runtime.token_cache = auth_service.TokenCache()  # as when its 30 seconds are up
        assert (await dora.get("/api/users/me")).status_code == 401
    async with session_scope(app.runtime.sessions) as session:
        with pytest.raises(Conflict):
            await auth_service.create(session, name=None, role=None, created_by="t", user="dora")
    count = (await app.client.get("/api/user-count")).json()["users"]
    async with session_scope(app.runtime.sessions) as session:
        assert count == await users.count_enabled(session)


async def test_the_profile_changes_and_is_checked(app: App) -> None:
    token = await user_token(app, "emil", Role.VIEWER)
    async with app.client_as(token) as emil:
        changed = await emil.patch(
            "/api/users/me",
            json={"display_name": "Emil E.", "time_zone": "Europe/Paris",
                  "default_datasource": "sales", "default_dashboard": "/?range=7d"},
        )  # fmt: skip
        assert changed.status_code == 200, changed.text
        assert changed.json()["time_zone"] == "Europe/Paris"
        cleared = (await emil.patch("/api/users/me", json={"time_zone": None})).json()
        assert cleared["time_zone"] == "UTC" and cleared["display_name"] == "Emil E."
        for bad in (
            {"time_zone": "Mars/Olympus"},
            {"time_zone": "../../etc/passwd"},
            {"role": "admin"},
            {"display_name": "x" * 129},
            {"default_datasource": "no spaces"},
        ):
            answer = await emil.patch("/api/users/me", json=bad)
            assert answer.status_code == 422, (bad, answer.text)
            assert set(answer.json()) >= {"error", "detail"}
        assert (await emil.get("/api/users/me")).json()["role"] == "viewer"


async def test_public_profiles_and_the_count(app: App) -> None:
    await user_token(app, "fay", Role.ADMIN)
    viewer = await make_token(app.runtime, Role.VIEWER, "gil")
    async with app.client_as(viewer) as gil:
        fay = (await gil.get("/api/users/fay")).json()
        public = {"name", "display_name", "role", "created_at"}
        assert set(fay) == public | {"workbooks", "workbook_count"}  # her workbooks gil sees
        missing = await gil.get("/api/users/nobody")
        assert missing.status_code == 404 and missing.json()["error"]
        assert (await gil.get("/api/user-count")).json()["users"] >= 3


@pytest.mark.parametrize(
    ("path", "needed"),
    [
        ("/api/users/me", Role.VIEWER),
        ("/api/users/test-admin", Role.VIEWER),
        ("/api/user-count", Role.VIEWER),
        ("/api/raw-user-data", Role.ADMIN),
    ],
)
async def test_each_route_needs_its_role(app: App, path: str, needed: Role) -> None:
    async with app.client_as(None) as anonymous:
        assert (await anonymous.get(path)).status_code == 401
    for role in Role:
        token = await make_token(app.runtime, role)
        async with app.client_as(token) as client:
            answer = await client.get(path)
        assert answer.status_code == (200 if role.allows(needed) else 403), (role, answer.text)


async def test_the_admins_list_never_shows_a_token(app: App) -> None:
    token = await user_token(app, "hana", Role.UPLOADER)
    answer = await app.client.get("/api/raw-user-data", params={"limit": 1})
    body = answer.json()
    assert answer.status_code == 200 and len(body["items"]) == 1 and body["next_offset"] == 1
    everyone = (await app.client.get("/api/raw-user-data", params={"limit": 200})).text
    assert "hana" in everyone
    assert token not in everyone and token[-10:] not in everyone
    assert "digest" not in everyone and "password" not in everyone and "sit_" not in everyone
    assert (await app.client.get("/api/raw-user-data", params={"limit": 201})).status_code == 422


async def test_graphql_serves_the_same_people(app: App) -> None:
    token = await user_token(app, "ivo", Role.VIEWER)
    me = await graphql(app, token, "{ me { name displayName role timeZone } userCount }")
    assert me["data"]["me"] == {
        "name": "ivo", "displayName": "Ivo Example", "role": "viewer", "timeZone": "UTC"
    }  # fmt: skip
    changed = await graphql(
        app,
        token,
        "mutation($z: String) { updateMe(input: {timeZone: $z}) { timeZone displayName } }",
        z="America/New_York",
    )
    assert changed["data"]["updateMe"] == {
        "timeZone": "America/New_York", "displayName": "Ivo Example"
    }  # fmt: skip
    bad = await graphql(app, token, 'mutation { updateMe(input: {timeZone: "Nowhere"}) { name } }')
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    public = await graphql(app, token, '{ user(name: "ivo") { name displayName } }')
    assert public["data"]["user"]["name"] == "ivo"
    refused = await graphql(app, token, "{ users(limit: 5) { total } }")
    assert refused["errors"] and refused["data"] is None
    admin = await make_token(app.runtime, Role.ADMIN)
    listed = await graphql(
        app, admin, "{ users(limit: 200) { total items { name activeTokens } } }"
    )
    names = {u["name"]: u["activeTokens"] for u in listed["data"]["users"]["items"]}
    assert names["ivo"] == 1


def cli(backend: Backend, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT,
        env=process_env(backend.env, AUTH_ANONYMOUS_ROLE="none"),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_command_line_creates_lists_and_disables_people(backend: Backend) -> None:
    made = cli(backend, "users", "create", "jo", "--role", "uploader", "--display-name", "Jo J")
    assert made.returncode == 0, made.stderr
    assert cli(backend, "users", "create", "jo").returncode != 0  # the name is taken
    token = cli(backend, "tokens", "create", "--user", "jo").stdout.splitlines()[0]
    listing = cli(backend, "users", "list").stdout
    assert "jo" in listing and "uploader" in listing and token not in listing
    async with app_for(backend) as app:
        principal = await app.runtime.authenticate(token)
        assert principal is not None and (principal.name, principal.role) == ("jo", Role.UPLOADER)
    assert cli(backend, "users", "disable", "jo").returncode == 0
    async with app_for(backend) as app:
        assert await app.runtime.authenticate(token) is None


async def test_a_token_by_name_never_changes_its_users_role(app: App) -> None:
    await user_token(app, "vic", Role.UPLOADER)
    async with session_scope(app.runtime.sessions) as session:
        with pytest.raises(InvalidInput) as refused:
            await auth_service.create(session, name="vic", role=Role.ADMIN, created_by="tests")
    assert refused.value.message == (
        "the user 'vic' has the role uploader; a token cannot have more"
    )
    lower = await make_token(app.runtime, Role.VIEWER, "vic")
    async with app.client_as(lower) as vic:
        assert (await vic.get("/api/users/me")).json()["role"] == "uploader"  # not demoted
    principal = await app.runtime.authenticate(lower)
    assert principal is not None and principal.role == Role.VIEWER


async def test_today_is_the_day_in_the_profiles_time_zone(app: App) -> None:
    # A widget's CSV counts a relative range from this day, as the page does: it used to count
    # from UTC's, a day off near midnight. One of these two zones is on another day than UTC now.
    now = dt.datetime.now(dt.UTC)
    zone = "Pacific/Kiritimati" if now.hour >= 12 else "Etc/GMT+12"  # UTC+14, UTC-12
    away = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
    assert away != now.date()
    token = await user_token(app, "zoe", Role.VIEWER)
    async with app.client_as(token) as zoe:
        changed = await zoe.patch("/api/users/me", json={"time_zone": zone})
        assert changed.status_code == 200, changed.text
        me = (await zoe.get("/api/users/me")).json()
    async with session_scope(app.runtime.sessions) as session:
        person = await users.named(session, "zoe")
        principal = Principal(id="t", name="zoe", role=Role.VIEWER, kind="token", user=person.id)
        assert await users.today_of(session, principal) == away
        nobody = Principal(id="a", name="anonymous", role=Role.VIEWER, kind="anonymous")
        assert await users.today_of(session, nobody) == dt.datetime.now(dt.UTC).date()
    assert me["time_zone"] == zone

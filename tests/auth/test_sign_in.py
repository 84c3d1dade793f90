"""Sign-in for people: a password sets an HttpOnly, SameSite=Lax session cookie; wrong names and
wrong passwords answer alike and are throttled; cookie writes need the session's CSRF token;
sign-out (here, or everywhere) ends sessions, in other processes once their cache expires; a
one-time link works once; a disabled user's session stops; a password change needs the current
one."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.auth import sign_in, users
from backend.auth.roles import Role
from backend.auth.service import TokenCache
from backend.db import session_scope
from backend.runtime import Runtime
from tests.conftest import App, Backend, app_for

PASSWORD = "correct horse battery"


async def make_person(runtime: Runtime, name: str, role: Role = Role.VIEWER) -> None:
    async with session_scope(runtime.sessions) as session:
        user = await users.create(session, name, role)
        await sign_in.set_password(session, user, PASSWORD)


def browser(app: App, base_url: str = "http://testserver") -> httpx.AsyncClient:
    """A client with a cookie jar and no bearer token, as a browser is."""
    return httpx.AsyncClient(transport=app.transport, base_url=base_url, timeout=60)


async def signed_in(app: App, name: str) -> tuple[httpx.AsyncClient, str]:
    client = browser(app)
    answer = await client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client, answer.json()["csrf_token"]


async def test_a_password_signs_in_with_an_httponly_lax_cookie(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "ana", Role.UPLOADER)
        client = browser(app)
        answer = await client.post("/api/auth/login", json={"name": "ana", "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("sales_session=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie
        body = answer.json()
        assert body["user"] == {"name": "ana", "display_name": "ana", "role": "uploader"}
        session = await client.get("/api/auth/session")
        assert session.json()["csrf_token"] == body["csrf_token"]
        assert (await client.get("/api/users/me")).json()["name"] == "ana"
        secure = browser(app, "https://testserver")
        over_https = await secure.post(
            "/api/auth/login", json={"name": "ana", "password": PASSWORD}
        )
        assert "Secure" in over_https.headers["set-cookie"]


async def test_wrong_name_and_wrong_password_answer_alike_and_are_throttled(
    embedded: Backend,
) -> None:
    async with app_for(embedded) as app:
        await make_person(app.runtime, "bo")
        client = browser(app)
        wrong = await client.post("/api/auth/login", json={"name": "bo", "password": "nope" * 3})
        unknown = await client.post("/api/auth/login", json={"name": "zed", "password": "x" * 12})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["error"] == "the name or password is not right"
        assert (await client.get("/api/auth/session")).status_code == 401
        for _ in range(4):
            await client.post("/api/auth/login", json={"name": "bo", "password": "again" * 3})
        throttled = await client.post("/api/auth/login", json={"name": "bo", "password": PASSWORD})
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1
        logs = await app.client.get("/api/access-logs", params={"limit": 50})
        assert PASSWORD not in logs.text and "nope" not in logs.text


async def test_cookie_writes_need_the_csrf_token_bearer_writes_do_not(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "cy")
        client, csrf = await signed_in(app, "cy")
        change = {"display_name": "Cy"}
        refused = await client.patch("/api/users/me", json=change)
        assert refused.status_code == 403
        assert refused.json()["code"] == "csrf_token_missing"
        wrong = await client.patch("/api/users/me", json=change, headers={"X-CSRF-Token": "x"})
        assert wrong.status_code == 403
        passed = await client.patch("/api/users/me", json=change, headers={"X-CSRF-Token": csrf})
        assert passed.status_code == 200 and passed.json()["display_name"] == "Cy"
        mutation = {"query": 'mutation { updateMe(input: {displayName: "C"}) { displayName } }'}
        graphql = await client.post("/graphql", json=mutation)
        assert graphql.status_code == 403, graphql.text
        graphql = await client.post("/graphql", json=mutation, headers={"X-CSRF-Token": csrf})
        assert graphql.json()["data"]["updateMe"]["displayName"] == "C"
        # A bearer header decides alone, whatever cookie comes with it.
        token = await app.token(Role.VIEWER, "cy-bearer")
        client.headers["Authorization"] = f"Bearer {token}"
        assert (await client.patch("/api/users/me", json=change)).status_code == 200


@contextlib.asynccontextmanager
async def second_process(backend: Backend) -> AsyncIterator[App]:
    """Another process's view of the same database: an app with its own runtime and cache."""
    async with app_for(dataclasses.replace(backend)) as other:
        yield other


async def test_sign_out_ends_the_session_and_everywhere_ends_the_others(
    backend: Backend,
) -> None:
    async with app_for(backend) as app, second_process(backend) as other:
        await make_person(app.runtime, "di")
        first, csrf = await signed_in(app, "di")
        second, _ = await signed_in(app, "di")
        remote = browser(other)
        remote.cookies = second.cookies
        assert (await remote.get("/api/users/me")).status_code == 200  # cached over there
        assert (await first.post("/api/auth/logout")).status_code == 403  # no CSRF token
        ended = await first.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
        assert ended.status_code == 204
        assert (await first.get("/api/auth/session")).status_code == 401
        assert (await first.get("/api/users/me")).status_code == 401
        assert (await second.get("/api/users/me")).status_code == 200

        third, csrf3 = await signed_in(app, "di")
        everywhere = await third.post(
            "/api/auth/logout", params={"everywhere": "true"}, headers={"X-CSRF-Token": csrf3}
        )
        assert everywhere.status_code == 204
        assert (await second.get("/api/users/me")).status_code == 401  # this process: at once
        # The other process answers from its cache until the entry is 30 seconds old.
        assert (await remote.get("/api/users/me")).status_code == 200
        cache = other.runtime.token_cache
        later = cache.clock() + TokenCache.CACHE_SECONDS + 1
        cache.clock = lambda: later
        assert (await remote.get("/api/users/me")).status_code == 401


async def test_a_sign_in_link_works_once(backend: Backend) -> None:
    async with app_for(backend) as app:
        async with session_scope(app.runtime.sessions) as session:
            user = await users.create(session, "ed", Role.ADMIN)
            token = await sign_in.new_link(session, user)
        client = browser(app)
        first = await client.get(f"/api/auth/link/{token}")
        assert first.status_code == 303 and first.headers["location"] == "/"
        assert (await client.get("/api/auth/session")).json()["user"]["role"] == "admin"
        again = await browser(app).get(f"/api/auth/link/{token}")
        assert again.status_code == 303
        assert again.headers["location"] == "/sign-in?error=link"
        assert "set-cookie" not in again.headers
        unknown = await browser(app).get("/api/auth/link/nothing-like-a-link")
        assert unknown.headers["location"] == "/sign-in?error=link"


async def test_a_disabled_users_session_stops(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        await make_person(app.runtime, "fay")
        client, _ = await signed_in(app, "fay")
        assert (await client.get("/api/users/me")).status_code == 200
        async with session_scope(app.runtime.sessions) as session:
            await users.disable(session, "fay")
        cache = app.runtime.token_cache
        later = cache.clock() + TokenCache.CACHE_SECONDS + 1
        cache.clock = lambda: later
        assert (await client.get("/api/users/me")).status_code == 401
        assert (await client.get("/api/auth/session")).status_code == 401
        again = await browser(app).post(
            "/api/auth/login", json={"name": "fay", "password": PASSWORD}
        )
        assert again.status_code == 401


async def test_changing_ones_password_needs_the_current_one(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "gus")
        client, csrf = await signed_in(app, "gus")
        other, _ = await signed_in(app, "gus")
        headers = {"X-CSRF-Token": csrf}
        new = "a brand new passphrase"
        missing = await client.post("/api/users/me/password", json={"new": new}, headers=headers)
        assert missing.status_code == 403
        assert missing.json()["error"] == "the current password is not right"
        wrong = await client.post(
            "/api/users/me/password", json={"current": "wrong" * 3, "new": new}, headers=headers
        )
        assert wrong.status_code == 403
        short = await client.post(
            "/api/users/me/password", json={"current": PASSWORD, "new": "short"}, headers=headers
        )
        assert short.status_code == 422
        changed = await client.post(
            "/api/users/me/password", json={"current": PASSWORD, "new": new}, headers=headers
        )
        assert changed.status_code == 204
        assert (await client.get("/api/auth/session")).status_code == 200  # this one stays
        assert (await other.get("/api/auth/session")).status_code == 401  # the others end
        old = await browser(app).post("/api/auth/login", json={"name": "gus", "password": PASSWORD})
        assert old.status_code == 401
        ok = await browser(app).post("/api/auth/login", json={"name": "gus", "password": new})
        assert ok.status_code == 200


@pytest.mark.parametrize("path", ["/api/auth/methods"])
async def test_the_methods_say_password_and_no_sso_by_default(embedded: Backend, path: str) -> None:
    async with app_for(embedded) as app:
        answer = await browser(app).get(path)
        assert answer.json() == {"password": True, "oidc": None}

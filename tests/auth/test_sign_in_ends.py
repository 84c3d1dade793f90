"""Ending sessions: the process that ends a session (sign-out, a new password, a disabled
user) stops accepting it at once, whatever its 30-second credential cache holds; disabling a user
ends their sessions and links for good. Password checks: only failures count against a name,
the current password of a change included. Any unusable sign-in link redirects."""

from __future__ import annotations

import httpx

from backend.api.errors import problems
from backend.auth import sign_in, users
from backend.auth.roles import Role
from backend.db import session_scope
from tests.auth.test_sign_in import PASSWORD, browser, make_person, signed_in
from tests.conftest import Backend, app_for


async def test_signing_out_ends_the_session_at_once_in_this_process(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "hal", Role.UPLOADER)
        client, csrf = await signed_in(app, "hal")
        headers = {"X-CSRF-Token": csrf}
        assert (await client.get("/api/users/me")).status_code == 200  # now cached
        kept = client.cookies["sales_session"]
        ended = await client.post("/api/auth/logout", headers=headers)
        assert ended.status_code == 204
        client.cookies.set("sales_session", kept)  # the old cookie, kept by someone
        assert (await client.get("/api/users/me")).status_code == 401
        change = await client.patch("/api/users/me", json={"display_name": "X"}, headers=headers)
        assert change.status_code == 401


async def test_a_new_password_ends_the_other_sessions_at_once(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "ida")
        client, csrf = await signed_in(app, "ida")
        other, _ = await signed_in(app, "ida")
        assert (await other.get("/api/users/me")).status_code == 200  # now cached
        changed = await client.post(
            "/api/users/me/password",
            json={"current": PASSWORD, "new": "another long passphrase"},
            headers={"X-CSRF-Token": csrf},
        )
        assert changed.status_code == 204
        assert (await other.get("/api/users/me")).status_code == 401
        assert (await client.get("/api/users/me")).status_code == 200  # this one stays


async def test_guessing_the_current_password_is_limited_as_signing_in_is(
    backend: Backend,
) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "jo")
        client, csrf = await signed_in(app, "jo")
        headers = {"X-CSRF-Token": csrf}

        async def guess(current: str) -> httpx.Response:
            body = {"current": current, "new": "another long passphrase"}
            return await client.post("/api/users/me/password", json=body, headers=headers)

        answers = [(await guess(f"guess number {n}")).status_code for n in range(5)]
        assert answers == [403] * 5  # the current password is not right
        refused = await guess("guess number 6")
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        # The same count as signing in with jo's name: a stolen session gives no extra guesses.
        login = await browser(app).post(
            "/api/auth/login", json={"name": "jo", "password": "guess number 7"}
        )
        assert login.status_code == 429


async def test_disabling_a_user_ends_their_sessions_and_links_for_good(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "kim")
        client, _ = await signed_in(app, "kim")
        async with session_scope(app.runtime.sessions) as session:
            user = await users.named(session, "kim")
            link = await sign_in.new_link(session, user)
        async with session_scope(app.runtime.sessions) as session:
            await users.disable(session, "kim")
        async with session_scope(app.runtime.sessions) as session:
            await users.enable(session, "kim")
        assert (await client.get("/api/auth/session")).status_code == 401
        used = await browser(app).get(f"/api/auth/link/{link}")
        assert used.headers["location"] == "/sign-in?error=link"
        again = await browser(app).post(
            "/api/auth/login", json={"name": "kim", "password": PASSWORD}
        )
        assert again.status_code == 200  # the password stays: only sessions and links end


async def test_only_failed_sign_ins_count_against_a_name(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        await make_person(app.runtime, "lee")
        right = {"name": "lee", "password": PASSWORD}
        wrong = {"name": "lee", "password": "not the password"}

        async def attempt(body: dict[str, str]) -> int:
            return (await browser(app).post("/api/auth/login", json=body)).status_code

        assert [await attempt(right) for _ in range(6)] == [200] * 6
        assert [await attempt(wrong) for _ in range(4)] == [401] * 4
        assert await attempt(right) == 200  # clears the four failures
        assert [await attempt(wrong) for _ in range(5)] == [401] * 5
        assert await attempt(right) == 429  # five failures in a minute lock the name out


async def test_any_unusable_link_redirects_to_the_sign_in_page(backend: Backend) -> None:
    async with app_for(backend) as app:
        for token in ("x" * 101, "x" * 5000, "%20", "a.b~c"):
            answer = await browser(app).get(f"/api/auth/link/{token}")
            assert answer.status_code == 303, (token[:10], answer.text)
            assert answer.headers["location"] == "/sign-in?error=link"


async def test_refusals_name_tokens_only_to_token_callers(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "max")
        nobody = await browser(app).get("/api/users/me")
        assert nobody.status_code == 401
        assert (
            nobody.json()["error"]
            == "GET /api/users/me needs you to sign in (with the viewer role)"
        )
        client, _ = await signed_in(app, "max")
        low = await client.get("/api/raw-user-data")
        assert low.status_code == 403
        assert low.json()["error"] == "GET /api/raw-user-data needs the admin role; you have viewer"
        assert "token" not in low.json()["detail"]
        async with app.client_as(await app.token(Role.VIEWER, "max-script")) as script:
            token = await script.get("/api/raw-user-data")
        assert token.status_code == 403
        assert token.json()["error"].endswith("needs the admin role; this token has viewer")


async def test_invalid_bodies_are_told_in_sentences(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        client = browser(app)
        as_text = await client.post(
            "/api/auth/login", content=b"name=a", headers={"Content-Type": "text/plain"}
        )
        assert as_text.status_code == 422
        assert as_text.json()["detail"] == (
            "The request body should be a JSON object, sent as application/json."
        )
        broken = await client.post(
            "/api/auth/login", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 422
        assert broken.json()["detail"].startswith("The request body is not valid JSON (")
        missing = await client.post("/api/auth/login", json={"name": "a"})
        assert missing.json()["detail"] == "password is required."
        deep = b'{"name": ' + b"[" * 3000 + b"]" * 3000 + b', "password": "x"}'  # < 8 kB
        nested = await client.post(
            "/api/auth/login", content=deep, headers={"Content-Type": "application/json"}
        )
        assert nested.status_code == 400, nested.text
        assert nested.json()["error"] == "the request body cannot be read"
        assert nested.json()["detail"]


def test_a_unions_members_are_said_as_one_sentence() -> None:
    errors = [
        {"type": "string_type", "loc": ("body", "filters", "branch", "constrained-str"),
         "msg": "Input should be a valid string"},
        {"type": "int_type", "loc": ("body", "filters", "branch", "int"),
         "msg": "Input should be a valid integer"},
        {"type": "missing", "loc": ("body", "name"), "msg": "Field required"},
    ]  # fmt: skip
    assert problems(errors) == (
        "filters.branch should be a valid string or a valid integer. name is required."
    )

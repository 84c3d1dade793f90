"""Writes made with the session cookie: uploads (REST and GraphQL multipart) need the session's
CSRF token, and a GraphQL GET never runs a mutation. Sign-in bodies are bounded before any
password is hashed."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from backend.auth import passwords
from backend.auth.passwords import verify
from backend.auth.roles import Role
from tests.auth.test_sign_in import PASSWORD, make_person, signed_in
from tests.conftest import Backend, app_for
from tests.factories import sales_csv
from tests.schema.test_ingestion_graphql import graphql_upload


async def test_cookie_uploads_need_the_csrf_token(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "uma", Role.UPLOADER)
        client, csrf = await signed_in(app, "uma")

        def rest(token: dict[str, str], seed: int) -> dict[str, object]:
            return {
                "data": {"datasource_name": "sales"},
                "files": {"file": ("s.csv", sales_csv(rows=5, seed=seed), "text/csv")},
                "headers": token,
            }

        refused = await client.post("/api/ingest/upload", **rest({}, 1))  # type: ignore[arg-type]
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_token_missing"
        accepted = await client.post(
            "/api/ingest/upload",
            **rest({"X-CSRF-Token": csrf}, 1),  # type: ignore[arg-type]
        )
        assert accepted.status_code == 202, accepted.text

        preflight = {"GraphQL-Preflight": "1"}
        refused = await graphql_upload(client, sales_csv(rows=5, seed=2), "sales", preflight)
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "CSRF_TOKEN_MISSING"
        passed = await graphql_upload(
            client, sales_csv(rows=5, seed=2), "sales", {**preflight, "X-CSRF-Token": csrf}
        )
        assert passed.status_code == 200, passed.text
        assert passed.json()["data"]["uploadSalesData"]["taskId"]


async def test_a_graphql_get_with_the_cookie_runs_no_mutation(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "gil")
        client, _ = await signed_in(app, "gil")
        mutation = 'mutation { updateMe(input: {displayName: "Changed"}) { displayName } }'
        answer = await client.get("/graphql", params={"query": mutation})
        assert answer.status_code in (400, 405), answer.text
        me = await client.get("/graphql", params={"query": "{ me { name displayName } }"})
        assert me.json()["data"]["me"] == {"name": "gil", "displayName": "gil"}


async def test_sign_in_bodies_are_bounded_before_any_hashing(
    embedded: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[int] = []

    def counted(stored: str | None, password: str) -> bool:
        checks.append(len(password))
        return verify(stored, password)

    monkeypatch.setattr(passwords, "verify", counted)
    async with app_for(embedded) as app:
        await make_person(app.runtime, "bea")
        client = app.client_as(None)
        huge = await client.post(
            "/api/auth/login", json={"name": "bea", "password": PASSWORD, "pad": "x" * 1_000_000}
        )
        assert huge.status_code in (413, 422), huge.text
        long = await client.post("/api/auth/login", json={"name": "bea", "password": "p" * 10_000})
        assert long.status_code in (413, 422), long.text
        assert checks == []  # refused before any password was hashed or checked
        ok = await client.post("/api/auth/login", json={"name": "bea", "password": PASSWORD})
        assert ok.status_code == 200, ok.text
        assert checks == [len(PASSWORD)]


async def test_the_sign_in_limits_are_settings(embedded: Backend) -> None:
    settings = embedded.settings.model_copy(
        update={"sign_in_attempts_per_name": 2, "sign_in_attempts_per_address": 4}
    )
    async with app_for(dataclasses.replace(embedded, settings=settings)) as app:
        await make_person(app.runtime, "lim")
        client = app.client_as(None)

        async def attempt(name: str) -> int:
            body = {"name": name, "password": "wrong" * 3}
            return (await client.post("/api/auth/login", json=body)).status_code

        assert [await attempt("lim") for _ in range(3)] == [401, 401, 429]  # per name
        assert [await attempt("other") for _ in range(2)] == [401, 429]  # per address: 4 in all


async def test_sign_in_bodies_past_a_few_kilobytes_are_refused_unread(backend: Backend) -> None:
    async with app_for(backend) as app:
        await make_person(app.runtime, "cap")
        client = app.client_as(None)
        padded = {"name": "cap", "password": PASSWORD, "pad": "x" * 20_000}
        declared = await client.post("/api/auth/login", json=padded)
        assert declared.status_code == 413, declared.text
        assert declared.json()["code"] == "payload_too_large"
        assert "AUTH_MAX_BODY_KB" in declared.json()["detail"]

        async def trickle() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            yield b'{"name": "cap", "password": "'
            for _ in range(100):
                yield b"y" * 1000
            yield b'"}'

        streamed = await client.post(
            "/api/auth/login", content=trickle(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413, streamed.text
        ok = await client.post("/api/auth/login", json={"name": "cap", "password": PASSWORD})
        assert ok.status_code == 200, ok.text

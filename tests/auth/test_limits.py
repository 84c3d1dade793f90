"""Abuse limits: requests per minute per principal with 429 and Retry-After, concurrent uploads
per principal, GraphQL depth/alias/token limits and introspection as coded GraphQL errors (never
5xx), CORS only for configured origins, cross-site writes refused."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import pytest

from backend.auth.limits import Limits, TooManyRequests
from backend.auth.roles import Role
from tests.conftest import Backend, app_for


def configured(backend: Backend, **settings: Any) -> Backend:
    return dataclasses.replace(backend, settings=backend.settings.model_copy(update=settings))


async def test_past_the_rate_limit_a_principal_gets_429_with_retry_after(
    embedded: Backend,
) -> None:
    async with app_for(configured(embedded, rate_limit_per_minute=5)) as app:
        greedy = app.client_as(await app.token(Role.VIEWER, "greedy"))
        calm = app.client_as(await app.token(Role.VIEWER, "calm"))
        answers = [(await greedy.get("/api/ingest/tasks")).status_code for _ in range(5)]
        assert answers == [200] * 5
        refused = await greedy.get("/api/ingest/tasks")
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        graphql = await greedy.post("/graphql", json={"query": "{ datasources { name } }"})
        assert graphql.status_code == 429 and graphql.headers["retry-after"]
        # another principal is not affected, and the probes never are
        assert (await calm.get("/api/ingest/tasks")).status_code == 200
        assert (await greedy.get("/healthz")).status_code == 200


async def test_anonymous_callers_are_limited_by_address(embedded: Backend) -> None:
    limited = configured(embedded, rate_limit_per_minute=3, auth_anonymous_role="viewer")
    async with app_for(limited) as app:
        anonymous = app.client_as(None)
        codes = [(await anonymous.get("/api/ingest/tasks")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


async def test_refused_tokens_are_limited_by_address_before_they_reach_the_audit_log(
    embedded: Backend,
) -> None:
    # Found by a hostile test: bad tokens were never throttled and each wrote an audit row.
    async with app_for(configured(embedded, rate_limit_per_minute=3)) as app:
        codes = [
            (await app.client_as(f"guess{n}").get("/api/ingest/tasks")).status_code
            for n in range(6)
        ]
        logs = await app.client.get("/api/access-logs", params={"action": "denied"})
    assert codes == [401, 401, 401, 429, 429, 429]
    assert logs.json()["data"]["total"] == 3


async def test_concurrent_uploads_per_principal_are_bounded() -> None:
    limits = Limits(per_minute=0, uploads_in_flight=2)
    async with limits.upload("alice"), limits.upload("alice"):
        with pytest.raises(TooManyRequests) as refused:
            async with limits.upload("alice"):
                pass
        assert refused.value.headers["Retry-After"]
        async with limits.upload("bob"):  # others have their own slots
            pass
    async with limits.upload("alice"):  # slots come back when uploads end
        await asyncio.sleep(0)


async def graphql_error(backend: Backend, query: str) -> dict[str, Any]:
    async with app_for(backend) as app:
        answer = await app.client.post("/graphql", json={"query": query})
    assert answer.status_code == 200, answer.text
    errors = answer.json()["errors"]
    assert errors, answer.text
    return dict(errors[0])


async def test_deep_queries_are_refused_with_a_code(embedded: Backend) -> None:
    nested = "{ ingestionTasks { items { events { detail } } } }"
    depth_backend = configured(embedded, graphql_max_depth=2)
    error = await graphql_error(depth_backend, nested)
    assert "depth" in error["message"].lower(), error


async def test_many_aliases_are_refused_with_a_code(embedded: Backend) -> None:
    query = "{ " + " ".join(f"a{i}: rowCount" for i in range(31)) + " }"
    error = await graphql_error(embedded, query)
    assert "alias" in error["message"].lower(), error


async def test_huge_documents_are_refused_with_a_code(embedded: Backend) -> None:
    query = "{ datasources { name " + "name " * 5000 + "} }"
    error = await graphql_error(embedded, query)
    assert "token" in error["message"].lower(), error


async def test_long_filter_lists_are_refused(embedded: Backend) -> None:
    query = "query($f: SalesFilter) { salesSummary(filter: $f) { totalSales } }"
    async with app_for(embedded) as app:
        answer = await app.client.post(
            "/graphql",
            json={"query": query, "variables": {"f": {"branches": ["A"] * 101}}},
        )
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_RANGE", error


async def test_introspection_can_be_switched_off(embedded: Backend) -> None:
    query = "{ __schema { types { name } } }"
    async with app_for(embedded) as app:
        assert "errors" not in (await app.client.post("/graphql", json={"query": query})).json()
    error = await graphql_error(configured(embedded, graphql_introspection=False), query)
    assert "introspection" in error["message"].lower()


async def test_cors_answers_only_configured_origins(embedded: Backend) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with app_for(embedded) as app:
        closed = await app.client.options("/graphql", headers={**preflight, "Origin": "http://ui"})
        assert "access-control-allow-origin" not in closed.headers
    opened = configured(embedded, cors_origins=["http://ui.example"])
    async with app_for(opened) as app:
        allowed = await app.client.options(
            "/graphql", headers={**preflight, "Origin": "http://ui.example"}
        )
        assert allowed.headers["access-control-allow-origin"] == "http://ui.example"
        other = await app.client.options(
            "/graphql", headers={**preflight, "Origin": "http://evil.example"}
        )
        assert other.headers.get("access-control-allow-origin") != "http://evil.example"
        # a configured origin may write, an unknown one may not (even with a valid token)
        task = uuid.uuid4()
        ok = await app.client.post(
            f"/api/ingest/tasks/{task}/cancel", headers={"Origin": "http://ui.example"}
        )
        assert ok.status_code == 404, ok.text
        evil = await app.client.post(
            f"/api/ingest/tasks/{task}/cancel", headers={"Origin": "http://evil.example"}
        )
        assert evil.status_code == 403, evil.text


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}],
)
async def test_cross_site_writes_are_refused(embedded: Backend, headers: dict[str, str]) -> None:
    async with app_for(embedded) as app:
        answer = await app.client.post(
            "/api/ingest/upload",
            headers=headers,
            data={"datasource_name": "sales"},
            files={"file": ("s.csv", b"a,b\n1,2\n", "text/plain")},
        )
        assert answer.status_code == 403
        assert answer.json()["code"] == "cross_site_request"
        assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0
        # reads stay possible (a link from elsewhere), and same-origin writes work
        assert (await app.client.get("/api/ingest/tasks", headers=headers)).status_code == 200
        same = await app.client.post(
            f"/api/ingest/tasks/{uuid.uuid4()}/cancel", headers={"Origin": "http://testserver"}
        )
        assert same.status_code == 404, same.text

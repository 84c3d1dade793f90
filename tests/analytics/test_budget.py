"""A request's analytics budget: many aliases of an expensive field are refused with a coded
error once the request's results (or its engine time) pass the limit, instead of holding the
server; an ordinary dashboard request stays well within it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import App, Backend, app_for
from tests.factories import upload, wait_for_task


@pytest.fixture
async def small_budget(embedded: Backend) -> AsyncIterator[App]:
    # Aliases limited only by the budget here (GRAPHQL_MAX_ALIASES is tested in tests/auth).
    settings = embedded.settings.model_copy(
        update={"query_max_cells": 20_000, "graphql_max_aliases": 1000}
    )
    async with app_for(Backend(embedded.name, settings, embedded.env)) as app:
        accepted = await upload(app.client, content=Path("data.csv").read_bytes())
        assert (await wait_for_task(app.client, accepted.json()["task_id"]))[
            "status"
        ] == "succeeded"
        yield app


async def ask(app: App, query: str) -> dict[str, object]:
    response = await app.client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


async def test_many_aliases_of_an_expensive_field_are_refused_with_a_code(
    small_budget: App,
) -> None:
    aliases = " ".join(
        f"a{i}: salesTrend(granularity: HOUR) {{ period totalSales }}" for i in range(50)
    )
    body = await ask(small_budget, f"{{ {aliases} }}")
    errors = body["errors"]
    assert isinstance(errors, list) and errors
    assert {e["extensions"]["code"] for e in errors} == {"QUERY_BUDGET_EXCEEDED"}
    assert "values (rows x columns)" in errors[0]["message"]
    assert body["data"] is None  # nothing half-built: the request was stopped


async def test_big_pages_under_many_aliases_are_refused(small_budget: App) -> None:
    aliases = " ".join(f"a{i}: rows(first: 1000) {{ edges {{ node }} }}" for i in range(20))
    body = await ask(small_budget, f"{{ {aliases} }}")
    assert body["data"] is None
    assert isinstance(body["errors"], list)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_BUDGET_EXCEEDED"


async def test_a_dashboard_request_fits_the_budget(small_budget: App) -> None:
    body = await ask(
        small_budget,
        "{ salesSummary { totalSales } salesTrend(granularity: DAY) { totalSales } "
        "salesByBranch { key } salesHeatmap { hour } ratingDistribution { count } }",
    )
    assert "errors" not in body, body


async def test_engine_time_is_bounded_per_request(embedded: Backend) -> None:
    settings = embedded.settings.model_copy(update={"query_timeout_seconds": 1e-6})
    async with app_for(Backend(embedded.name, settings, embedded.env)) as app:
        accepted = await upload(app.client, content=Path("data.csv").read_bytes())
        await wait_for_task(app.client, accepted.json()["task_id"])
        body = await ask(app, "{ rowCount }")
    assert isinstance(body["errors"], list)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_BUDGET_EXCEEDED"
    assert "analytics time" in body["errors"][0]["message"]

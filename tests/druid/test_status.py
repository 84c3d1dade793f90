"""Status with a real Druid configured: health lists each Druid service, the performance page
shows Druid's datasources and running tasks, and the Sigma mode switches to warehouse."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import App, Backend, DruidSales, app_for


@pytest.fixture
async def app_with_druid(embedded: Backend, druid_sales: DruidSales) -> AsyncIterator[App]:
    settings = embedded.settings.model_copy(
        update={"druid_url": druid_sales.druid.url, "druid_datasource_prefix": druid_sales.prefix}
    )
    async with app_for(Backend(embedded.name, settings, embedded.env)) as app:
        yield app


async def test_health_lists_every_druid_service(app_with_druid: App) -> None:
    body = (await app_with_druid.client.get("/api/health")).json()
    druid = next(c for c in body["checks"] if c["name"] == "druid")
    assert druid["status"] == "healthy", druid
    kinds = {s["type"] for s in druid["data"]["services"]}
    assert {"coordinator", "overlord", "broker", "historical", "indexer", "router"} <= kinds
    assert body["status"] == "healthy"


async def test_performance_shows_druid_datasources_and_tasks(
    app_with_druid: App, druid_sales: DruidSales
) -> None:
    client = app_with_druid.client
    sources = (await client.get("/api/performance/data-sources")).json()["data"]
    druid = next(s for s in sources if s["id"] == "druid")
    assert druid["status"] == "up"
    ours = next(d for d in druid["datasources"] if d["name"] == f"{druid_sales.prefix}sales")
    assert ours["segments"] >= 1 and ours["size_bytes"] > 0 and ours["load_percent"] == 100.0
    active = (await client.get("/api/performance/data-sources/druid/active-queries")).json()
    assert active["data"]["available"] is True and isinstance(active["data"]["queries"], list)


async def test_warehouse_mode_is_accepted_and_serves_the_druid_rows(app_with_druid: App) -> None:
    client = app_with_druid.client
    capabilities = (await client.get("/api/sigma/capabilities")).json()["data"]
    available = {c["name"]: c["available"] for c in capabilities}
    assert available["druid_ingestion"] and available["druid_sql"]
    switched = await client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
    assert switched.status_code == 200, switched.text
    status = (await client.get("/api/sigma/status")).json()["data"]
    assert (status["mode"], status["engine"], status["operational"]) == (
        "warehouse",
        "druid",
        True,
    )
    # The catalog of this fresh database has no succeeded task, so Druid serves nothing here:
    # the datasource is known (sales) but empty; no made-up figures.
    answer = (await client.post("/graphql", json={"query": "{ rowCount }"})).json()
    assert answer["data"]["rowCount"] == 0

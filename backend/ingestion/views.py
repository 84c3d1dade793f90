"""The datasource views both doors answer with: each datasource as the engine serves it and as
its record describes it, shown to one viewer."""

from __future__ import annotations

from backend.auth.principal import Principal
from backend.db import session_scope
from backend.ingestion import datasources, schemas


async def view(
    runtime: datasources.Services, name: str, viewer: Principal
) -> schemas.DatasourceOut:
    """One datasource as REST and GraphQL show it to `viewer`: as the engine serves it and as
    its record describes it (read fresh, so an answer after a change shows the change)."""
    found = await _records(runtime)
    info = await runtime.analytics.describe(name)
    return schemas.DatasourceOut.of(info, found, runtime.settings, viewer)


async def views(runtime: datasources.Services, viewer: Principal) -> list[schemas.DatasourceOut]:
    """Every datasource the engine serves, as view() shows each."""
    found = await _records(runtime)
    return [
        schemas.DatasourceOut.of(info, found, runtime.settings, viewer)
        for info in await runtime.analytics.datasources()
    ]


async def _records(runtime: datasources.Services) -> dict[str, datasources.Record]:
    # A session of its own, for reads: GraphQL resolves a query's root fields concurrently.
    async with session_scope(runtime.reading()) as session:
        return await datasources.records(session)

"""GraphQL: health of the whole chain, Sigma mode and the performance pages (thin: calls
backend.status and backend.monitoring)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from backend.auth import visibility
from backend.auth.principal import Principal
from backend.db import session_scope
from backend.monitoring import application, audit
from backend.schema import performance as types
from backend.schema.context import Info
from backend.schema.permissions import IsAdmin, IsViewer
from backend.status import health as health_service
from backend.status import performance, sigma

strawberry.enum(health_service.Status, name="HealthStatus")
strawberry.enum(
    sigma.Mode,
    name="SigmaMode",
    description="The engine serving dashboards: STANDALONE is the embedded engine (Polars), "
    "WAREHOUSE is Apache Druid",
)


@strawberry.type
class SigmaModeChange:
    mode: sigma.Mode
    changed_at: dt.datetime | None
    changed_by: str | None

    @classmethod
    def of(cls, state: sigma.ModeState, viewer: Principal | None) -> SigmaModeChange:
        """Who changed it: with the principal's id for admins, the name for others."""
        return cls(
            mode=state.mode,
            changed_at=state.changed_at,
            changed_by=visibility.actor_shown(state.changed_by, viewer),
        )


@strawberry.type
class SigmaStatus:
    mode: sigma.Mode
    operational: bool
    engine: str
    engine_status: str
    engine_latency_ms: float | None
    engine_detail: str | None
    datasources: int
    rows_served: float
    last_change: SigmaModeChange
    engine_name: str = strawberry.field(
        description='The engine in words: "embedded (Polars)" or "Apache Druid"'
    )
    druid_unavailable: str | None = strawberry.field(
        description="Why Apache Druid cannot serve dashboards now (a sentence); null: it can"
    )


@strawberry.type
class SigmaCapability:
    name: str = strawberry.field(description="A stable name for scripts (upload_formats...)")
    available: bool
    reason: str = strawberry.field(description="Why it is or is not available, briefly")
    description: str = strawberry.field(description="What it means, in a sentence for people")


@strawberry.type
class AccessLogEntry:
    id: strawberry.ID
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    detail: JSON | None


@strawberry.type
class AccessLogPage:
    items: list[AccessLogEntry]
    total: int
    next_offset: int | None = strawberry.field(description="the next page's offset; null: last")


@strawberry.type
class HealthCheck:
    name: str
    status: health_service.Status
    latency_ms: float | None
    detail: str | None
    data: JSON


@strawberry.type
class Health:
    status: health_service.Status
    reasons: list[str]
    checks: list[HealthCheck]
    checked_at: dt.datetime


@strawberry.type
class MonitoringQuery:
    @strawberry.field(
        permission_classes=[IsViewer],
        description="Database, storage, workers and Druid, checked now",
    )
    async def health(self, info: Info) -> Health:
        result = await health_service.health(info.context.runtime)
        return Health(
            status=result.status,
            reasons=result.reasons,
            checks=[
                HealthCheck(
                    name=c.name,
                    status=c.status,
                    latency_ms=c.latency_ms,
                    detail=c.detail,
                    data=cast(JSON, c.data),
                )
                for c in result.checks
            ],
            checked_at=result.checked_at,
        )

    @strawberry.field(
        permission_classes=[IsViewer],
        description="Which engine serves dashboards (embedded Polars or Apache Druid), whether "
        "it works now, and why Apache Druid cannot be chosen when it cannot",
    )
    async def sigma_status(self, info: Info) -> SigmaStatus:
        found = await sigma.status(info.context.runtime)
        values = {
            f: getattr(found, f)
            for f in (
                "mode",
                "operational",
                "engine",
                "engine_status",
                "engine_latency_ms",
                "engine_detail",
                "datasources",
                "engine_name",
                "druid_unavailable",
            )
        }
        return SigmaStatus(
            **values,
            rows_served=float(found.rows_served),
            last_change=SigmaModeChange.of(found.last_change, info.context.principal),
        )

    @strawberry.field(
        permission_classes=[IsViewer],
        description="What this installation can do right now, each with the reason",
    )
    async def sigma_capabilities(self, info: Info) -> list[SigmaCapability]:
        found = await sigma.capabilities(info.context.runtime)
        return [
            SigmaCapability(
                name=c.name, available=c.available, reason=c.reason, description=c.description
            )
            for c in found
        ]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The audit log (admin): uploads, retries, cancels, engine changes, refusals; "
        "newest first, a page at a time",
    )
    async def access_logs(
        self,
        info: Info,
        action: str | None = None,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Only entries whose actor, action or target starts with this text "
                f"(any case, at most {audit.MAX_SEARCH} characters; % and _ match themselves)"
            ),
        ] = None,
        limit: int = 50,
        offset: int = 0,
    ) -> AccessLogPage:
        async with session_scope(info.context.runtime.reading()) as session:
            page = await audit.entries(
                session, action=action, search=search, limit=limit, offset=offset
            )
        items = [
            AccessLogEntry(
                id=strawberry.ID(str(e.id)),
                at=e.at,
                actor=e.actor,
                action=e.action,
                target=e.target,
                detail=cast(JSON, e.detail),
            )
            for e in page.items
        ]
        return AccessLogPage(items=items, total=page.total, next_offset=page.next_offset)


# Named `source` in the schema (a permission check already takes `source` in Python).
SourceArgument = Annotated[str, strawberry.argument(name="source", description="metadata or druid")]


@strawberry.type
class PerformanceQuery:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Each backing system: status, version, uptime, size, connections, response times",
    )
    async def data_sources(self, info: Info) -> list[types.BackingSystem]:
        found = await performance.dependencies(info.context.runtime)
        return [types.backing_system(entry) for entry in found]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Running queries of a data source (PostgreSQL: pg_stat_activity)",
    )
    async def active_queries(
        self, info: Info, of: SourceArgument = "metadata"
    ) -> types.ActiveQueries:
        return types.active_queries(await performance.active_queries(info.context.runtime, of))

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Slowest statements (PostgreSQL pg_stat_statements), with recommendations",
    )
    async def slow_queries(self, info: Info, of: SourceArgument = "metadata") -> types.SlowQueries:
        return types.slow_queries(await performance.slow_queries(info.context.runtime, of))

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Per datasource: its ingestion runs from the task history",
    )
    async def pipelines(self, info: Info) -> list[types.Pipeline]:
        return [types.pipeline(p) for p in await performance.pipelines(info.context.runtime)]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Uptime, requests, errors and latency per route, CPU, memory, recent logs",
    )
    async def application(self, info: Info) -> types.ApplicationSummary:
        metrics = info.context.http_request.app.state.metrics
        return types.application_summary(application.summary(metrics, application.LOG_BUFFER))


@strawberry.type
class MonitoringMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Choose the engine for dashboards (STANDALONE: embedded Polars, WAREHOUSE: "
        "Apache Druid); refused with the reason when it cannot be used",
    )
    async def set_sigma_mode(self, info: Info, mode: sigma.Mode) -> SigmaModeChange:
        context = info.context
        return SigmaModeChange.of(
            await sigma.set_mode(context.session, context.runtime, mode, context.principal.label),
            context.principal,
        )

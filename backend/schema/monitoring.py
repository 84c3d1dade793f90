"""GraphQL: health of the whole chain (thin: calls backend.monitoring)."""

from __future__ import annotations

import datetime as dt
from typing import cast

import strawberry
from strawberry.scalars import JSON

from backend.monitoring import health as health_service
from backend.schema.context import Info

strawberry.enum(health_service.Status, name="HealthStatus")


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
    @strawberry.field(description="Database, storage, workers and Druid, checked now")
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

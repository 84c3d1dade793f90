"""GraphQL mutations on datasources (their listing is in backend.schema.analytics)."""

from __future__ import annotations

import strawberry

from backend.ingestion import datasources
from backend.schema.context import Info
from backend.schema.permissions import IsAdmin


@strawberry.type(description="What dropping a datasource removed")
class DatasourceDrop:
    name: str
    tasks_removed: int
    objects_removed: int
    druid_segments_dropped: int | None = strawberry.field(
        description="segments Druid marked unused; null without Druid or when it did not answer"
    )
    druid_error: str | None


@strawberry.type
class DatasourceMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Drop a datasource: its tasks and their history, its stored data and "
        "rollups, its Druid segments (audited). Refused while one of its uploads is queued or "
        "running",
    )
    async def drop_datasource(self, info: Info, name: str) -> DatasourceDrop:
        context = info.context
        report = await datasources.drop_everywhere(context.runtime, name, context.principal)
        return DatasourceDrop(
            name=report.name,
            tasks_removed=report.tasks_removed,
            objects_removed=report.objects_removed,
            druid_segments_dropped=report.druid_segments_dropped,
            druid_error=report.druid_error,
        )

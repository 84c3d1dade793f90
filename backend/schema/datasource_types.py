"""GraphQL: the datasource catalog's types (a datasource with its columns, schema versions,
owner and recent tasks), built from the engine's description and the stored records."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import strawberry

from backend.analytics.service import DatasourceInfo
from backend.db import session_scope
from backend.druid_load import druid_datasource
from backend.ingestion import access, datasources
from backend.ingestion import service as ingestion_service
from backend.paging import check_page
from backend.schema.context import Info
from backend.schema.ingestion import IngestionTaskStatus
from backend.schema.permissions import IsViewer
from backend.schema.scalars import Long

if TYPE_CHECKING:
    from backend.runtime import Runtime


async def datasource_records(runtime: Runtime) -> dict[str, datasources.Record]:
    # a session of its own: root fields of one query are resolved concurrently
    async with session_scope(runtime.reading()) as session:
        return await datasources.records(session)


@strawberry.type
class DatasourceColumn:
    name: str
    type: str


@strawberry.type(description="One change in a schema version")
class SchemaVersionChange:
    column: str
    kind: str = strawberry.field(description="add_column or widen")
    type: str = strawberry.field(description="the column's type after the change")


@strawberry.type(description="A version of a datasource's schema: when, by whom, what changed")
class SchemaVersion:
    version: int
    at: str = strawberry.field(description="ISO-8601 UTC")
    by: str = strawberry.field(description="who changed it: a token's name, or 'upload <task>'")
    changes: list[SchemaVersionChange]

    @classmethod
    def of(cls, data: dict[str, Any]) -> SchemaVersion:
        return cls(
            version=int(data.get("version", 0)),
            at=str(data.get("at", "")),
            by=str(data.get("by", "")),
            changes=[
                SchemaVersionChange(
                    column=str(c["column"]), kind=str(c["kind"]), type=str(c["type"])
                )
                for c in data.get("changes", [])
            ],
        )


@strawberry.type
class Datasource:
    name: str
    row_count: Long
    columns: list[DatasourceColumn] = strawberry.field(
        description="the columns its data has, then those its contract declares that no file "
        "has brought yet (queryable once data has them)"
    )
    time_start: dt.datetime | None
    time_end: dt.datetime | None
    last_ingestion: dt.datetime | None
    data_as_of: dt.datetime | None = strawberry.field(description="the latest __time in the data")
    contract: str = strawberry.field(
        description="sales (every check of the sales schema), declared or inferred"
    )
    schema_version: int = strawberry.field(
        default=1, description="1 when created; one more with each change to its schema"
    )
    schema_versions: list[SchemaVersion] = strawberry.field(
        default_factory=list, description="each change to the schema after version 1"
    )

    created_at: dt.datetime | None = strawberry.field(
        default=None, description="when its first upload (or createDatasource) recorded it"
    )
    storage_prefix: str = strawberry.field(
        default="", description="where its datasets are kept, as a key in the service's storage"
    )
    druid_datasource: str | None = strawberry.field(
        default=None, description="its name in Druid; null without Druid configured"
    )
    grants: list[str] = strawberry.field(
        default_factory=list,
        description="who else may write to it: principals' names, or role:<role>",
    )
    ownership: strawberry.Private[access.Ownership] = access.Ownership()

    @strawberry.field(
        description="who created it and may write to it (with the principal's id for admins); "
        "null: admins only"
    )
    def owner(self, info: Info) -> str | None:
        return access.owner_shown(self.ownership, info.context.principal)

    @strawberry.field(
        permission_classes=[IsViewer], description="Its latest upload tasks, newest first"
    )
    async def recent_tasks(self, info: Info, first: int = 5) -> list[IngestionTaskStatus]:
        check_page(first, 0, 50)
        async with session_scope(info.context.runtime.reading()) as session:
            page = await ingestion_service.list_tasks(session, datasource=self.name, limit=first)
        return [IngestionTaskStatus.of(t, info) for t in page.items]

    @classmethod
    def of(
        cls, info: DatasourceInfo, records: dict[str, datasources.Record], runtime: Runtime
    ) -> Datasource:
        record = records.get(info.name, datasources.Record())
        settings = runtime.settings
        return cls(
            ownership=record.ownership,
            grants=list(record.ownership.grants),
            created_at=record.created_at,
            storage_prefix=datasources.storage_prefix(info.name),
            druid_datasource=(
                druid_datasource(settings, info.name) if settings.druid_url else None
            ),
            contract=record.contract,
            schema_version=record.version,
            schema_versions=[SchemaVersion.of(v) for v in record.versions],
            name=info.name,
            row_count=Long(info.rows),
            columns=[
                DatasourceColumn(name=n, type=t)
                for n, t in datasources.listed_columns(record, info.columns).items()
            ],
            time_start=info.time_start,
            time_end=info.time_end,
            last_ingestion=info.last_ingestion,
            data_as_of=info.time_end,
        )


async def described(runtime: Runtime, name: str) -> Datasource:
    return Datasource.of(
        await runtime.analytics.describe(name), await datasource_records(runtime), runtime
    )

"""GraphQL: a datasource as REST shows it (types derived from backend.ingestion.schemas), and
the mutations on datasources: create, evolve, grant and revoke the right to write, drop. Their
listing is in backend.schema.analytics."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import TYPE_CHECKING

import strawberry
from strawberry.experimental import pydantic

from backend.auth.principal import Principal
from backend.contracts.declared import (
    DeclaredColumn,
    declare,
)
from backend.contracts.types import ColumnType
from backend.db import session_scope
from backend.ingestion import datasources, schemas, views
from backend.ingestion import service as ingestion_service
from backend.paging import check_page
from backend.schema.context import Info
from backend.schema.ingestion import IngestionTaskStatus, task_status
from backend.schema.permissions import IsAdmin, IsUploader, IsViewer
from backend.schema.scalars import Long

if TYPE_CHECKING:
    from backend.runtime import Runtime


@strawberry.type
class DatasourceColumn:
    name: str
    type: str


@pydantic.type(
    model=schemas.SchemaVersionChangeOut,
    all_fields=True,
    description="One change in a schema version",
)
class SchemaVersionChange:
    pass


@pydantic.type(
    model=schemas.SchemaVersionOut,
    all_fields=True,
    description="A version of a datasource's schema: when, by whom, what changed",
)
class SchemaVersion:
    pass


@pydantic.type(model=schemas.DatasourceOut, all_fields=True)
class Datasource:
    name: str  # named for mypy, which reads the fields listed here only (as the two below)
    time_end: dt.datetime | None
    row_count: Long
    columns: list[DatasourceColumn]

    @strawberry.field(description="the latest __time in the data")
    def data_as_of(self) -> dt.datetime | None:
        return self.time_end

    @strawberry.field(
        permission_classes=[IsViewer], description="Its latest upload tasks, newest first"
    )
    async def recent_tasks(self, info: Info, first: int = 5) -> list[IngestionTaskStatus]:
        check_page(first, 0, 50)
        async with session_scope(info.context.runtime.reading()) as session:
            page = await ingestion_service.list_tasks(session, datasource=self.name, limit=first)
        return [task_status(t, info) for t in page.items]


def datasource_view(out: schemas.DatasourceOut) -> Datasource:
    """REST's view of a datasource, typed for GraphQL (its columns as a list)."""
    fields = dict(out)
    fields["columns"] = [DatasourceColumn(name=n, type=t) for n, t in out.columns.items()]
    fields["schema_versions"] = [SchemaVersion.from_pydantic(v) for v in out.schema_versions]
    return Datasource(**fields)


async def described(runtime: Runtime, name: str, viewer: Principal) -> Datasource:
    return datasource_view(await views.view(runtime, name, viewer))


@pydantic.type(
    model=schemas.DropOut, all_fields=True, description="What dropping a datasource removed"
)
class DatasourceDrop:
    pass


ColumnTypeEnum = strawberry.enum(ColumnType, name="ColumnType")


@strawberry.enum(description="How a datasource's rows are checked")
class DatasourceContract(enum.Enum):
    SALES = "sales"
    DECLARED = "declared"


@strawberry.input(description="A column of a declared contract")
class DeclaredColumnInput:
    name: str
    type: ColumnType
    required: bool = strawberry.field(default=True, description="an empty cell is refused")
    allowed: list[str] | None = strawberry.field(
        default=None, description="strings: the only values accepted (up to 1000)"
    )
    minimum: float | None = strawberry.field(default=None, description="numbers: inclusive")
    maximum: float | None = strawberry.field(default=None, description="numbers: inclusive")


@strawberry.input(description="A column added to a datasource's contract: it may be empty")
class AddedColumnInput:
    name: str
    type: ColumnType
    allowed: list[str] | None = strawberry.field(
        default=None, description="declared contracts, strings: the only values accepted"
    )
    minimum: float | None = strawberry.field(default=None, description="declared, numbers")
    maximum: float | None = strawberry.field(default=None, description="declared, numbers")


@strawberry.type(description="A datasource's contract after a change")
class DatasourceContractUpdate:
    name: str
    contract: str
    schema_version: int
    changes: list[SchemaVersionChange]
    columns: list[DatasourceColumn] = strawberry.field(
        description="the contract's columns and types (the data gains a new column with the "
        "first upload that has it)"
    )


@strawberry.type
class DatasourceMutation:
    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Evolve a datasource's schema (declared or inferred contracts): add columns "
        "that may be empty, widen integer columns to float. Anything else is refused with the "
        "reason; rows already loaded stay valid and read as the new version (audited)",
    )
    async def update_datasource_contract(
        self,
        info: Info,
        name: str,
        add_columns: list[AddedColumnInput] | None = None,
        widen: list[str] | None = None,
    ) -> DatasourceContractUpdate:
        context = info.context
        added = [
            DeclaredColumn(c.name, c.type, False, tuple(c.allowed or ()), c.minimum, c.maximum)
            for c in add_columns or []
        ]
        update = await datasources.update_contract_now(
            context.runtime, name, added, list(widen or []), context.principal
        )
        return DatasourceContractUpdate(
            name=update.name,
            contract=update.record.contract,
            schema_version=update.record.version,
            changes=[
                SchemaVersionChange(column=c.column, kind=c.kind, type=c.type.value)
                for c in update.changes
            ],
            columns=[
                DatasourceColumn(name=str(c["name"]), type=str(c["type"]))
                for c in update.record.columns
            ],
        )

    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Create a datasource ahead of its first upload: the sales contract, or a "
        "declared one (columns, types, required, allowed values, ranges, unique key, time "
        "column) that every upload to it must pass",
    )
    async def create_datasource(
        self,
        info: Info,
        name: str,
        contract: DatasourceContract,
        columns: list[DeclaredColumnInput] | None = None,
        time_column: str | None = None,
        unique_key: str | None = None,
    ) -> Datasource:
        context = info.context
        declaration = None
        if contract is DatasourceContract.DECLARED and columns:
            declaration = declare(
                [
                    DeclaredColumn(
                        c.name, c.type, c.required, tuple(c.allowed or ()), c.minimum, c.maximum
                    )
                    for c in columns
                ],
                time_column,
                unique_key,
            )
        await datasources.create_now(
            context.runtime, name, contract.value, declaration, context.principal
        )
        # What `datasource(name)` answers from now on (its record: created, storage, versions).
        return await described(context.runtime, name, context.principal)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Drop a datasource: its tasks and their history, its stored data and "
        "rollups, its Druid segments (audited). Refused while one of its uploads is queued or "
        "running",
    )
    async def drop_datasource(self, info: Info, name: str) -> DatasourceDrop:
        context = info.context
        report = await datasources.drop_everywhere(context.runtime, name, context.principal)
        return DatasourceDrop.from_pydantic(schemas.DropOut(**dataclasses.asdict(report)))

    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Let a principal (by name: a token's name, a user's name or email) or a role "
        "(role:uploader: every uploader) write to a datasource: upload, replace, evolve, change "
        "its contract. Its owner and admins only (audited)",
    )
    async def grant_datasource_access(self, info: Info, name: str, grantee: str) -> Datasource:
        context = info.context
        await datasources.grant_now(context.runtime, name, grantee, context.principal)
        return await described(context.runtime, name, context.principal)

    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Take back a grant to write to a datasource. Its owner and admins only "
        "(audited)",
    )
    async def revoke_datasource_access(self, info: Info, name: str, grantee: str) -> Datasource:
        context = info.context
        await datasources.revoke_now(context.runtime, name, grantee, context.principal)
        return await described(context.runtime, name, context.principal)

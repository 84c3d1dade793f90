"""GraphQL mutations on datasources (their listing is in backend.schema.analytics): create,
evolve, grant and revoke the right to write, drop."""

from __future__ import annotations

import dataclasses
import enum

import strawberry

from backend.contracts.declared import (
    DeclaredColumn,
    declare,
)
from backend.contracts.types import ColumnType
from backend.ingestion import datasources
from backend.schema.context import Info
from backend.schema.datasource_types import (
    Datasource,
    DatasourceColumn,
    SchemaVersionChange,
    described,
)
from backend.schema.permissions import IsAdmin, IsUploader


@strawberry.type(description="What dropping a datasource removed")
class DatasourceDrop:
    name: str
    tasks_removed: int
    objects_removed: int
    druid_segments_dropped: int | None = strawberry.field(
        description="segments Druid marked unused; null without Druid or when it did not answer"
    )
    druid_error: str | None


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
        return await described(context.runtime, name)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Drop a datasource: its tasks and their history, its stored data and "
        "rollups, its Druid segments (audited). Refused while one of its uploads is queued or "
        "running",
    )
    async def drop_datasource(self, info: Info, name: str) -> DatasourceDrop:
        context = info.context
        report = await datasources.drop_everywhere(context.runtime, name, context.principal)
        return DatasourceDrop(**dataclasses.asdict(report))

    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Let a principal (by name: a token's name, a user's name or email) or a role "
        "(role:uploader: every uploader) write to a datasource: upload, replace, evolve, change "
        "its contract. Its owner and admins only (audited)",
    )
    async def grant_datasource_access(self, info: Info, name: str, grantee: str) -> Datasource:
        context = info.context
        await datasources.grant_now(context.runtime, name, grantee, context.principal)
        return await described(context.runtime, name)

    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Take back a grant to write to a datasource. Its owner and admins only "
        "(audited)",
    )
    async def revoke_datasource_access(self, info: Info, name: str, grantee: str) -> Datasource:
        context = info.context
        await datasources.revoke_now(context.runtime, name, grantee, context.principal)
        return await described(context.runtime, name)

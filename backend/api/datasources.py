"""REST for datasources: list them with their contract and owner, look at one, create one,
evolve its schema, grant others the right to write to it, drop one (admin)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from backend.api.errors import ErrorBody
from backend.contracts.declared import DeclaredColumn, declare
from backend.contracts.types import ColumnType
from backend.deps import Admin, RuntimeDep, Uploader, Viewer
from backend.ingestion import access, datasources, views
from backend.ingestion.schemas import (
    DatasourceOut,
    DropOut,
    SchemaVersionChangeOut,
)
from backend.ingestion.service import DATASOURCE_PATTERN, validate_datasource_name

router = APIRouter(prefix="/api/datasources", tags=["datasources"])
Name = Annotated[str, Path(pattern=DATASOURCE_PATTERN.pattern, description="The datasource's name")]
_ERROR: dict[str, Any] = {"model": ErrorBody}


class ColumnIn(BaseModel):
    # strict: `false` is not a bound and `0` is not a flag (schemathesis sent both)
    model_config = ConfigDict(strict=True)

    name: str = Field(min_length=1, max_length=128)
    type: Annotated[ColumnType, Field(strict=False)]  # JSON gives the enum's value
    required: bool = Field(default=True, description="an empty cell is refused")
    allowed: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=1000, description="strings: the only values accepted"
    )
    minimum: float | None = Field(default=None, description="numbers: inclusive lower bound")
    maximum: float | None = Field(default=None, description="numbers: inclusive upper bound")


class DatasourceIn(BaseModel):
    name: str = Field(pattern=DATASOURCE_PATTERN.pattern)
    contract: Literal["sales", "declared"]
    columns: list[ColumnIn] = Field(default_factory=list, max_length=200)
    time_column: str | None = Field(default=None, max_length=128)
    unique_key: str | None = Field(default=None, max_length=128)


class AddedColumnIn(BaseModel):
    model_config = ConfigDict(strict=True)

    name: str = Field(min_length=1, max_length=128)
    type: Annotated[ColumnType, Field(strict=False)]
    allowed: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=1000, description="declared contracts, strings"
    )
    minimum: float | None = Field(default=None, description="declared contracts, numbers")
    maximum: float | None = Field(default=None, description="declared contracts, numbers")


class ContractChangeIn(BaseModel):
    model_config = ConfigDict(strict=True)

    add_columns: list[AddedColumnIn] = Field(
        default_factory=list, max_length=200, description="columns that may be empty"
    )
    widen: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=200, description="integer columns to make float"
    )


class ContractOut(BaseModel):
    name: str
    contract: str
    schema_version: int
    changes: list[SchemaVersionChangeOut]
    columns: dict[str, str] = Field(description="the contract's columns and types")


@router.get("", summary="Every datasource with its contract, rows and time range")
async def list_datasources(runtime: RuntimeDep, principal: Viewer) -> list[DatasourceOut]:
    return await views.views(runtime, principal)


@router.post(
    "",
    status_code=201,
    responses={409: _ERROR, 422: _ERROR},
    summary="Create a datasource ahead of its first upload: the sales contract, or a declared "
    "one (columns, types, required, allowed values, ranges, unique key, time column)",
)
async def create_datasource(
    body: DatasourceIn, runtime: RuntimeDep, principal: Uploader
) -> DatasourceOut:
    declaration = (
        declare(
            [
                DeclaredColumn(c.name, c.type, c.required, tuple(c.allowed), c.minimum, c.maximum)
                for c in body.columns
            ],
            body.time_column,
            body.unique_key,
        )
        if body.contract == "declared" and body.columns
        else None
    )
    await datasources.create_now(runtime, body.name, body.contract, declaration, principal)
    # What GET answers from now on (its record: created, storage, versions).
    return await views.view(runtime, body.name, principal)


@router.get("/{name}", responses={404: _ERROR, 422: _ERROR}, summary="One datasource")
async def get_datasource(name: Name, runtime: RuntimeDep, principal: Viewer) -> DatasourceOut:
    name = validate_datasource_name(name)
    return await views.view(runtime, name, principal)


@router.patch(
    "/{name}",
    responses={404: _ERROR, 409: _ERROR, 422: _ERROR},
    summary="Evolve a datasource's schema: add columns that may be empty, widen integer "
    "columns to float (anything else refused with the reason; audited)",
)
async def update_contract(
    name: Name, body: ContractChangeIn, runtime: RuntimeDep, principal: Uploader
) -> ContractOut:
    added = [
        DeclaredColumn(c.name, c.type, False, tuple(c.allowed), c.minimum, c.maximum)
        for c in body.add_columns
    ]
    update = await datasources.update_contract_now(
        runtime, name, added, list(body.widen), principal
    )
    return ContractOut(
        name=update.name,
        contract=update.record.contract,
        schema_version=update.record.version,
        changes=[
            SchemaVersionChangeOut(column=c.column, kind=c.kind, type=c.type.value)
            for c in update.changes
        ],
        columns={str(c["name"]): str(c["type"]) for c in update.record.columns},
    )


@router.delete(
    "/{name}",
    responses={404: _ERROR, 409: _ERROR, 422: _ERROR},
    summary="Drop a datasource: its tasks, stored data and Druid segments (audited)",
)
async def drop_datasource(name: Name, runtime: RuntimeDep, principal: Admin) -> DropOut:
    report = await datasources.drop_everywhere(runtime, name, principal)
    return DropOut(**dataclasses.asdict(report))


Grantee = Annotated[
    str,
    Path(
        pattern=access.GRANTEE.pattern,
        description="a principal's name (a token's name, a user's name or email), or "
        "role:<role> (role:uploader: every uploader)",
    ),
]


@router.put(
    "/{name}/grants/{grantee}",
    responses={403: _ERROR, 404: _ERROR, 422: _ERROR},
    summary="Let a principal (by name) or a role write to a datasource: upload, replace, "
    "evolve, change its contract (its owner and admins; audited)",
)
async def put_grant(
    name: Name, grantee: Grantee, runtime: RuntimeDep, principal: Uploader
) -> DatasourceOut:
    await datasources.grant_now(runtime, name, grantee, principal)
    return await views.view(runtime, name, principal)


@router.delete(
    "/{name}/grants/{grantee}",
    responses={403: _ERROR, 404: _ERROR, 422: _ERROR},
    summary="Take a grant back (its owner and admins; audited)",
)
async def delete_grant(
    name: Name, grantee: Grantee, runtime: RuntimeDep, principal: Uploader
) -> DatasourceOut:
    await datasources.revoke_now(runtime, name, grantee, principal)
    return await views.view(runtime, name, principal)

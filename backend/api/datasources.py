"""REST for datasources: list them with their contract, look at one, drop one (admin)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from backend.analytics.service import DatasourceInfo
from backend.deps import Admin, RuntimeDep, SessionDep, Uploader, Viewer
from backend.errors import ErrorBody
from backend.ingestion import datasources
from backend.ingestion.service import DATASOURCE_PATTERN, validate_datasource_name
from backend.ingestion.validation.declared import DeclaredColumn, declare
from backend.ingestion.validation.types import ColumnType

router = APIRouter(prefix="/api/datasources", tags=["datasources"])
Name = Annotated[str, Path(pattern=DATASOURCE_PATTERN.pattern, description="The datasource's name")]
_ERROR: dict[str, Any] = {"model": ErrorBody}


class DatasourceOut(BaseModel):
    name: str
    contract: str = Field(description="sales (every check of the sales schema) or inferred")
    row_count: int
    columns: dict[str, str]
    time_start: dt.datetime | None
    time_end: dt.datetime | None = Field(description="the latest __time in the data")
    last_ingestion: dt.datetime | None


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


class DropOut(BaseModel):
    name: str
    tasks_removed: int
    objects_removed: int
    druid_segments_dropped: int | None = Field(
        description="segments Druid marked unused; null without Druid or when it did not answer"
    )
    druid_error: str | None


def _out(info: DatasourceInfo, contracts: dict[str, str]) -> DatasourceOut:
    return DatasourceOut(
        name=info.name,
        contract=contracts.get(info.name, "inferred"),
        row_count=info.rows,
        columns=info.columns,
        time_start=info.time_start,
        time_end=info.time_end,
        last_ingestion=info.last_ingestion,
    )


@router.get("", summary="Every datasource with its contract, rows and time range")
async def list_datasources(
    runtime: RuntimeDep, session: SessionDep, principal: Viewer
) -> list[DatasourceOut]:
    contracts = await datasources.contracts(session)
    return [_out(info, contracts) for info in await runtime.analytics.datasources()]


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
    return DatasourceOut(
        name=body.name,
        contract=body.contract,
        row_count=0,
        columns=datasources.declared_columns(body.contract, declaration),
        time_start=None,
        time_end=None,
        last_ingestion=None,
    )


@router.get("/{name}", responses={404: _ERROR, 422: _ERROR}, summary="One datasource")
async def get_datasource(
    name: Name, runtime: RuntimeDep, session: SessionDep, principal: Viewer
) -> DatasourceOut:
    name = validate_datasource_name(name)
    contracts = await datasources.contracts(session)
    return _out(await runtime.analytics.describe(name), contracts)


@router.delete(
    "/{name}",
    responses={404: _ERROR, 409: _ERROR, 422: _ERROR},
    summary="Drop a datasource: its tasks, stored data and Druid segments (audited)",
)
async def drop_datasource(name: Name, runtime: RuntimeDep, principal: Admin) -> DropOut:
    report = await datasources.drop_everywhere(runtime, name, principal)
    return DropOut(**dataclasses.asdict(report))

"""REST: a datasource's matching raw rows as a CSV file (the dashboard's rows view), for anyone
who may read its analytics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from backend import filenames
from backend.analytics import rows_csv
from backend.analytics.query import FilterKind
from backend.api.datasources import Name
from backend.api.errors import ErrorBody
from backend.deps import RuntimeDep, Viewer
from backend.errors import InvalidInput

router = APIRouter(prefix="/api/datasources", tags=["datasources"])
_ERROR: dict[str, Any] = {"model": ErrorBody}


class FilterIn(BaseModel):
    """One filter as the GraphQL `analytics` query's FilterInput takes it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    kind: str = Field(description="EQUALS, IN, RANGE or DATE_RANGE, as in GraphQL")
    column: str = Field(min_length=1, max_length=256)
    values: list[Annotated[str, Field(max_length=200)] | None] = Field(max_length=1000)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind.upper() not in FilterKind.__members__:
            raise ValueError(kind)
        return kind.upper()


_FILTERS = TypeAdapter(list[FilterIn])


def _filters(text: str) -> list[rows_csv.RowFilter]:
    try:
        given = _FILTERS.validate_json(text)
    except ValidationError as exc:
        raise InvalidInput(
            "filters must be a JSON list of {kind, column, values}",
            'For example [{"kind": "IN", "column": "Branch", "values": ["A"]}]; kind is one of '
            + ", ".join(k.name for k in FilterKind)
            + ".",
        ) from exc
    return [rows_csv.RowFilter(FilterKind[f.kind], f.column, f.values) for f in given]


@router.get(
    "/{name}/rows.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, 404: _ERROR, 422: _ERROR},
    summary="The rows of a datasource matching filters (those of the analytics query), as CSV, "
    "in the order asked; more rows than the service's ROWS_CSV_MAX_ROWS are refused",
)
async def rows_as_csv(
    name: Name,
    runtime: RuntimeDep,
    principal: Viewer,
    filters: Annotated[
        str,
        Query(
            max_length=65536,
            description='a JSON list of filters: [{"kind": "IN", "column": "Branch", '
            '"values": ["A"]}], as the analytics query takes them',
        ),
    ] = "[]",
    order: Annotated[str | None, Query(max_length=256, description="a column to sort by")] = None,
    descending: bool = False,
) -> StreamingResponse:
    request = rows_csv.RowsInput(
        datasource=name,
        filters=_filters(filters),
        order=[rows_csv.RowOrder(order, descending)] if order else [],
    )
    settings = runtime.settings
    bounds = rows_csv.Bounds(
        settings.rows_csv_max_rows, settings.rows_csv_max_cells, settings.query_timeout_seconds
    )
    result = await rows_csv.matching_rows(runtime.analytics, request, bounds)
    return StreamingResponse(
        rows_csv.csv_chunks(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": filenames.attachment(f"{name}-rows.csv", "rows.csv")},
    )

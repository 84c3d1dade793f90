"""REST for workbooks (saved dashboards): list, search, feed, tags, save, change from a version,
versions and restore, favorites and views. Thin: the rules live in backend.workbooks."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.convertors import Convertor, register_url_convertor

from backend import filenames
from backend.api.errors import ErrorBody
from backend.api.query_params import one_value_each
from backend.auth import users
from backend.deps import RuntimeDep, SessionDep, Viewer
from backend.errors import InvalidInput, NestsTooDeeply, PayloadTooLarge
from backend.paging import MAX_OFFSET
from backend.units import format_bytes
from backend.workbooks import listing, service, starter, transfer, widget_data
from backend.workbooks.documents import (
    MAX_TAGS,
    CopyIn,
    Document,
    ExportOut,
    FeedOut,
    ImportIn,
    ImportOut,
    TagOut,
    VersionDocumentOut,
    VersionPageOut,
    ViewOut,
    WorkbookIn,
    WorkbookOut,
    WorkbookPageOut,
    WorkbookPatch,
)
from backend.workbooks.listing import Criteria, Sort
from backend.workbooks.rules import not_found


class _WorkbookId(Convertor[str]):
    """A workbook's id (32 hex digits) in a route's path, so that /api/workbooks/feed is no
    workbook's path (nor does a 405's Allow list a workbook's methods for it)."""

    regex = "[0-9a-f]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _NotWorkbook(Convertor[str]):
    """Any other path under /api/workbooks/ (not a workbook id, the feed, the starter or the
    import)."""

    regex = "(?![0-9a-f]{32}(?:/|$))(?!(?:feed|starter|import)$).+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("workbook_id", _WorkbookId())
register_url_convertor("not_workbook", _NotWorkbook())


router = APIRouter(prefix="/api", tags=["workbooks"])
_ERROR: dict[str, Any] = {"model": ErrorBody}
_MISSING: dict[int | str, dict[str, Any]] = {404: _ERROR, 422: _ERROR}
Id = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="The workbook's id")]
Number = Annotated[int, Path(ge=1, le=1_000_000_000, description="A version's number")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def _tags(values: list[str] | None) -> tuple[str, ...]:
    names = {t.strip() for value in values or [] for t in value.split(",") if t.strip()}
    if len(names) > MAX_TAGS:
        raise InvalidInput(
            f"filter by at most {MAX_TAGS} tags (got {len(names)})", "Name fewer tags."
        )
    return tuple(sorted(names))


@router.get(
    "/workbooks",
    dependencies=[Depends(one_value_each("tags"))],
    summary="The workbooks you may see: filtered, searched, sorted, paged",
)
async def list_workbooks(
    session: SessionDep,
    principal: Viewer,
    tags: Annotated[
        list[Annotated[str, Query(max_length=900)]] | None,
        Query(max_length=MAX_TAGS, description="a,b (or repeated): carries all of them"),
    ] = None,
    author: Annotated[str | None, Query(max_length=128, description="an owner's handle")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="words in title, description, tags")
    ] = None,
    favorites: Annotated[bool, Query(description="only your favorites")] = False,
    datasource: Annotated[str | None, Query(max_length=64)] = None,
    sort: Annotated[Sort, Query(description="popular: views over the last 30 days")] = "recent",
    limit: Limit = 50,
    offset: Offset = 0,
) -> WorkbookPageOut:
    criteria = Criteria(_tags(tags), author, q, favorites, datasource, sort)
    return await listing.page(session, principal, criteria, limit, offset)


@router.post(
    "/workbooks",
    status_code=201,
    responses={403: _ERROR, 422: _ERROR},
    summary="Save a workbook (sharing it needs the uploader role)",
)
async def create_workbook(
    body: WorkbookIn, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> WorkbookOut:
    return await service.create(session, runtime.analytics.columns, principal, body)


@router.get(
    "/workbooks/feed", summary="Your home feed: recent, favorites, popular, shared with you"
)
async def workbook_feed(session: SessionDep, principal: Viewer) -> FeedOut:
    return await listing.feed(session, principal)


@router.get("/tags", summary="The most used tags on the workbooks you may see")
async def list_tags(
    session: SessionDep, principal: Viewer, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[TagOut]:
    return await listing.tags(session, principal, limit)


@router.get("/workbooks/{workbook_id:workbook_id}", responses=_MISSING, summary="One workbook")
async def get_workbook(workbook_id: Id, session: SessionDep, principal: Viewer) -> WorkbookOut:
    return await service.get(session, principal, workbook_id)


@router.patch(
    "/workbooks/{workbook_id:workbook_id}",
    responses={403: _ERROR, 409: _ERROR, **_MISSING},
    summary="Change a workbook from the version you read (a stale version is a 409 that names "
    "what changed since); its owner or an admin",
)
async def update_workbook(
    workbook_id: Id,
    body: WorkbookPatch,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
) -> WorkbookOut:
    return await service.update(session, runtime.analytics.columns, principal, workbook_id, body)


@router.delete(
    "/workbooks/{workbook_id:workbook_id}",
    status_code=204,
    responses={403: _ERROR, **_MISSING},
    summary="Delete a workbook; its owner or an admin",
)
async def delete_workbook(workbook_id: Id, session: SessionDep, principal: Viewer) -> Response:
    await service.delete(session, principal, workbook_id)
    return Response(status_code=204)


@router.get(
    "/workbooks/{workbook_id:workbook_id}/versions",
    responses=_MISSING,
    summary="A workbook's saves, newest first",
)
async def list_versions(
    workbook_id: Id, session: SessionDep, principal: Viewer, limit: Limit = 50, offset: Offset = 0
) -> VersionPageOut:
    return await service.versions(session, principal, workbook_id, limit, offset)


@router.get(
    "/workbooks/{workbook_id:workbook_id}/versions/{number}",
    responses=_MISSING,
    summary="One version of a workbook, its whole document",
)
async def get_version(
    workbook_id: Id, number: Number, session: SessionDep, principal: Viewer
) -> VersionDocumentOut:
    return await service.version(session, principal, workbook_id, number)


@router.post(
    "/workbooks/{workbook_id:workbook_id}/versions/{number}/restore",
    responses={403: _ERROR, **_MISSING},
    summary="Save an older version again, as a new version; its owner or an admin",
)
async def restore_version(
    workbook_id: Id, number: Number, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> WorkbookOut:
    return await service.restore(session, runtime.analytics.columns, principal, workbook_id, number)


@router.post(
    "/workbooks/{workbook_id:workbook_id}/favorite",
    responses=_MISSING,
    summary="Favorite a workbook",
)
async def add_favorite(workbook_id: Id, session: SessionDep, principal: Viewer) -> WorkbookOut:
    return await listing.favorite(session, principal, workbook_id, True)


@router.delete(
    "/workbooks/{workbook_id:workbook_id}/favorite",
    responses=_MISSING,
    summary="Unfavorite a workbook",
)
async def remove_favorite(workbook_id: Id, session: SessionDep, principal: Viewer) -> WorkbookOut:
    return await listing.favorite(session, principal, workbook_id, False)


@router.post(
    "/workbooks/{workbook_id:workbook_id}/view",
    responses=_MISSING,
    summary="Count a view (at most one per person per minute)",
)
async def view_workbook(workbook_id: Id, session: SessionDep, principal: Viewer) -> ViewOut:
    return await listing.view(session, principal, workbook_id)


@router.get(
    "/workbooks/starter",
    responses=_MISSING,
    summary="The default sales dashboard over a datasource, as an unsaved workbook document "
    "(POST it to /api/workbooks to save a copy)",
)
async def starter_workbook(
    runtime: RuntimeDep,
    principal: Viewer,
    datasource: Annotated[str, Query(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")] = "sales",
) -> Document:
    starter.require_sales_columns(datasource, await runtime.analytics.columns(datasource))
    return starter.document(datasource)


@router.post(
    "/workbooks/{workbook_id:workbook_id}/copy",
    status_code=201,
    responses=_MISSING,
    summary="Save a private copy of a workbook you may see, as your own",
)
async def copy_workbook(
    workbook_id: Id,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
    body: Annotated[CopyIn | None, Body()] = None,
) -> WorkbookOut:
    title = body.title if body else None
    columns = runtime.analytics.columns
    return await transfer.copy(session, columns, principal, workbook_id, title)


@router.get(
    "/workbooks/{workbook_id:workbook_id}/export",
    response_model=ExportOut,
    responses=_MISSING,
    summary="A workbook as a JSON document that imports on another installation (a download)",
)
async def export_workbook(workbook_id: Id, session: SessionDep, principal: Viewer) -> Response:
    found = await transfer.export(session, principal, workbook_id)
    name = f"{found.workbook.title}.workbook.json"
    disposition = filenames.attachment(name, f"workbook-{workbook_id}.json")
    return JSONResponse(found.model_dump(mode="json"), headers={"Content-Disposition": disposition})


MAX_IMPORT_BYTES = 4 * 1024 * 1024


async def _import_body(request: Request) -> ImportIn:
    """The body, read up to MAX_IMPORT_BYTES (the workbook inside is bounded as a saved one)."""
    read = bytearray()
    async for chunk in request.stream():
        read += chunk
        if len(read) > MAX_IMPORT_BYTES:
            raise PayloadTooLarge(
                f"a workbook export is at most {format_bytes(MAX_IMPORT_BYTES)}",
                "Send the document GET /api/workbooks/{id}/export answers.",
            )
    try:
        return ImportIn.model_validate(json.loads(read))
    except RecursionError as exc:  # the decoder recurses per level: was a 500
        raise NestsTooDeeply(
            "Send the document GET /api/workbooks/{id}/export answers: it nests a few levels, "
            "not hundreds."
        ) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "the body is not a workbook export",
            "Send the JSON document GET /api/workbooks/{id}/export answers, with format, "
            "version and workbook.",
        ) from exc


@router.post(
    "/workbooks/import",
    status_code=201,
    responses={413: _ERROR, 422: _ERROR},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ImportIn.model_json_schema()}},
        }
    },
    summary="Import an exported workbook as a private workbook of your own; warnings name the "
    "widgets whose datasource this installation does not have yet",
)
async def import_workbook(
    request: Request, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> ImportOut:
    body = await _import_body(request)
    return await transfer.import_(session, runtime.analytics.columns, principal, body)


@router.get(
    "/workbooks/{workbook_id:workbook_id}/widgets/{index}/data.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **_MISSING},
    summary="A widget's data as CSV: its query with the workbook's filters added, at most its "
    "limit (and 100,000) rows",
)
async def widget_csv(
    workbook_id: Id,
    index: Annotated[int, Path(ge=0, le=1000, description="the widget's position, from 0")],
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
) -> StreamingResponse:
    document = await service.get(session, principal, workbook_id)
    today = await users.today_of(session, principal)
    widget, result = await widget_data.run_widget(runtime.analytics, document, index, today)
    name = f"{widget.title or widget.kind}.csv"
    return StreamingResponse(
        widget_data.csv_chunks(result),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": filenames.attachment(name, f"widget-{index}.csv"),
        },
    )


@router.api_route(
    "/workbooks/{rest:not_workbook}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def no_such_workbook(rest: str, principal: Viewer) -> Response:
    """A path that names no workbook: 404 whatever the method (as an unknown id is)."""
    raise not_found(rest.partition("/")[0])

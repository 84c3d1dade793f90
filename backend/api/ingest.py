"""REST: uploads and ingestion tasks (the paths the frontend and curl users call)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from backend import filenames, known_fields
from backend.api import multipart
from backend.auth.roles import Role
from backend.contracts.evolution import Evolve
from backend.deps import RuntimeDep, SessionDep, Uploader, Viewer, bearer_of, still_allowed
from backend.errors import InvalidInput
from backend.ingestion import intake, preview, reload
from backend.ingestion import service as ingestion_service
from backend.ingestion.schemas import TaskPageOut, TaskStatusOut, UploadAccepted
from backend.ingestion.service import StagedUpload
from backend.paging import MAX_OFFSET
from backend.pipeline.options import OnInvalid
from backend.tasks import live
from backend.tasks.models import IngestionTask, TaskStatus

router = APIRouter(prefix="/api/ingest", tags=["ingestion"])

_ERROR = {"description": "The error and what to change", "content": {"application/json": {}}}
_UPLOAD_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "datasource_name"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV/TSV, Excel (.xlsx, .xls) or Parquet",
                        },
                        "datasource_name": {
                            "type": "string",
                            "pattern": ingestion_service.DATASOURCE_PATTERN.pattern,
                            "example": "sales",
                        },
                        "force": {
                            "type": "boolean",
                            "default": False,
                            "description": "Create a new task even when these bytes were uploaded before",
                        },
                        "dry_run": {
                            "type": "boolean",
                            "default": False,
                            "description": "A preview: the file is read and checked in full, nothing is loaded; the task's report.preview shows the schema, the first rows and the time column. Confirm it at POST /api/ingest/tasks/{task_id}/confirm",
                        },
                        "on_invalid": {
                            "type": "string",
                            "enum": ["reject", "skip"],
                            "default": "reject",
                            "description": "reject: any invalid row fails the upload; skip: load the valid rows",
                        },
                        "max_invalid_ratio": {
                            "type": "number",
                            "default": 0.1,
                            "description": "with on_invalid=skip: the largest share of invalid rows accepted",
                        },
                        "sheet": {
                            "type": "string",
                            "description": "Excel: sheet name or number (default: first)",
                        },
                        "time_column": {
                            "type": "string",
                            "description": "new datasources: the column __time is made from (default: detected)",
                        },
                        "evolve": {
                            "type": "string",
                            "enum": ["add_columns", "widen", "add_columns,widen"],
                            "description": "inferred datasources: let this file change the schema: add_columns adds the file's new columns (empty for rows already loaded), widen makes integer columns with decimals float",
                        },
                        "mode": {
                            "type": "string",
                            "enum": ["append", "replace"],
                            "default": "append",
                            "description": "append: add the rows; replace: they replace the datasource's rows in the time interval they cover (whole days, months or years, as Druid segments)",
                        },
                    },
                }
            }
        },
    }
}
FORM_FIELDS = tuple(
    _UPLOAD_FORM["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def parse_flag(name: str, value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InvalidInput(
        f"{name} must be true or false (got {value!r})", f"Send {name}=true or {name}=false."
    )


def check_form_fields(names: Iterable[str]) -> None:
    """A form field the upload does not know is refused, not ignored (a misspelt dry_run would
    load the data)."""
    for name in names:
        if name not in FORM_FIELDS:
            raise InvalidInput(
                known_fields.unknown_field("form field", name, FORM_FIELDS),
                known_fields.fields_are(FORM_FIELDS),
            )


def _url(request: Request, route: str, path: str, task_id: str) -> str:
    settings = request.app.state.runtime.settings
    if settings.public_url:
        return f"{settings.public_url.rstrip('/')}{path}"
    return str(request.url_for(route, task_id=task_id))


def status_url(request: Request, task_id: str) -> str:
    return _url(request, "ingest_status", f"/api/ingest/status/{task_id}", task_id)


def rejected_url(request: Request, task_id: str) -> str:
    return _url(request, "ingest_rejected", f"/api/ingest/tasks/{task_id}/rejected", task_id)


def task_out(request: Request, task: IngestionTask) -> TaskStatusOut:
    principal = getattr(request.state, "principal", None)  # set by the route's role check
    return TaskStatusOut.of(task, rejected_url(request, task.id), principal)


@router.post(
    "/upload",
    status_code=202,
    response_model=UploadAccepted,
    openapi_extra=_UPLOAD_FORM,
    responses={
        200: {
            "description": "The same bytes were already uploaded to this datasource",
            "model": UploadAccepted,
        },
        413: _ERROR,
        415: _ERROR,
        422: _ERROR,
        429: {
            "description": "Too many uploads in progress, or requests, for this caller",
            **_ERROR,
        },
        507: {"description": "Not enough free disk space on the server", **_ERROR},
    },
    summary="Upload a CSV, Excel or Parquet file for ingestion",
)
async def upload(
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
    force: Annotated[bool, Query(description="Same as the form field force")] = False,
) -> UploadAccepted:
    uploads = runtime.intake()
    uploads.check_declared_size(request.headers.get("content-length"))

    async def on_file(part: multipart.Part, fields: dict[str, str], chunks: Any) -> StagedUpload:
        check_form_fields(fields)  # before storing anything
        if "datasource_name" in fields:  # fail before storing anything when we already can
            await intake.refuse_early(runtime.reading(), fields["datasource_name"], principal)
        return await uploads.stage(chunks, part.filename)

    async with uploads.in_flight(principal):  # UPLOADS_IN_FLIGHT per principal
        form = await multipart.read_form(
            request.stream(),
            request.headers.get("content-type"),
            file_field="file",
            on_file=on_file,
            discard=StagedUpload.discard,
        )
    if form.file is None:
        check_form_fields(form.fields)  # a file sent under another name: say which
        raise InvalidInput(
            "no file was sent", "Send the file as the form field 'file' (curl -F file=@data.csv)."
        )
    fields = form.fields
    try:
        check_form_fields(fields)
        force = force or parse_flag("force", fields.get("force"))
        dry_run = parse_flag("dry_run", fields.get("dry_run"))
        options = ingestion_service.upload_options(
            on_invalid=fields.get("on_invalid"),
            max_invalid_ratio=fields.get("max_invalid_ratio"),
            sheet=fields.get("sheet"),
            time_column=fields.get("time_column"),
            mode=fields.get("mode"),
            evolve=fields.get("evolve"),
        )
    except InvalidInput:
        await form.file.discard()
        raise
    accepted = await uploads.accept(
        session,
        form.file,
        fields.get("datasource_name"),
        force=force,
        options=options,
        actor=principal,
        dry_run=dry_run,
    )
    if not accepted.created:
        response.status_code = 200
    return intake.answer(accepted, status_url(request, accepted.task.id))


@router.post(
    "/tasks/{task_id}/confirm",
    status_code=202,
    responses={
        200: {"description": "The same bytes are loaded already (send force)"},
        403: _ERROR,
        404: _ERROR,
        409: _ERROR,
        422: _ERROR,
    },
    summary="Load a preview's file (or preview it again) with overrides, without sending it again",
)
async def confirm_preview(
    request: Request,
    response: Response,
    task_id: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
    body: preview.ConfirmBody | None = None,
) -> UploadAccepted:
    accepted = await preview.confirm(
        session, runtime.intake(), task_id, principal, body or preview.ConfirmBody()
    )
    if not accepted.created:
        response.status_code = 200
    return intake.answer(accepted, status_url(request, accepted.task.id))


@router.get("/status/{task_id}", name="ingest_status", responses={404: _ERROR})
async def task_status(
    request: Request, task_id: str, session: SessionDep, principal: Viewer
) -> TaskStatusOut:
    return task_out(request, await ingestion_service.get_task(session, task_id))


@router.get("/tasks")
async def list_tasks(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    datasource: str | None = None,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TaskPageOut:
    page = await ingestion_service.list_tasks(
        session, datasource=datasource, status=status, limit=limit, offset=offset
    )
    more = page.offset + len(page.items) < page.total
    return TaskPageOut(
        items=[task_out(request, t) for t in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        next_offset=page.offset + len(page.items) if more else None,
    )


@router.post("/tasks/{task_id}/retry", status_code=202, responses={404: _ERROR, 409: _ERROR})
async def retry_task(
    request: Request, task_id: str, session: SessionDep, principal: Uploader
) -> TaskStatusOut:
    return task_out(request, await ingestion_service.retry(session, task_id, principal))


class ReloadBody(BaseModel):
    """What the new task does differently from the first (unset: as the first did)."""

    force: bool = Field(default=False, description="load it even when these bytes are loaded")
    on_invalid: OnInvalid | None = Field(
        default=None, description="skip: load the valid rows, keep the invalid ones aside"
    )
    evolve: list[Evolve] | None = Field(
        default=None, max_length=2, description="changes the file may make to the schema"
    )


@router.post(
    "/tasks/{task_id}/reload",
    status_code=202,
    responses={
        200: {"description": "The same bytes are loaded already (send force)"},
        404: _ERROR,
        409: _ERROR,
        422: _ERROR,
    },
    summary="Load a task's stored file again as a new task, with other options",
)
async def reload_task(
    request: Request,
    response: Response,
    task_id: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
    body: ReloadBody | None = None,
) -> UploadAccepted:
    asked = body or ReloadBody()
    changes = reload.Changes(
        force=asked.force,
        on_invalid=asked.on_invalid,
        evolve=None if asked.evolve is None else tuple(dict.fromkeys(asked.evolve)),
    )
    accepted = await reload.reload(session, runtime.intake(), task_id, principal, changes)
    if not accepted.created:
        response.status_code = 200
    return intake.answer(accepted, status_url(request, accepted.task.id))


@router.post("/tasks/{task_id}/cancel", responses={404: _ERROR, 409: _ERROR})
async def cancel_task(
    request: Request, task_id: str, session: SessionDep, principal: Uploader, runtime: RuntimeDep
) -> TaskStatusOut:
    cancelled = await ingestion_service.cancel(
        session, task_id, principal, runtime.metrics.registry
    )
    return task_out(request, cancelled)


@router.get(
    "/tasks/{task_id}/rejected",
    name="ingest_rejected",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, 404: _ERROR},
    summary="The rejected rows of a task as CSV: the file's columns plus _row and _reason",
)
async def rejected_rows(
    task_id: str, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> StreamingResponse:
    key = await ingestion_service.rejected_rows(session, task_id, principal)
    task = await ingestion_service.get_task(session, task_id)
    # Named after the upload (any characters: see filenames.attachment), e.g. 売上-rejected.csv.
    stem = filenames.stem(task.filename) or task.id
    disposition = filenames.attachment(f"{stem}-rejected.csv", f"{task.id}-rejected.csv")
    return StreamingResponse(
        runtime.store.read_chunks(key),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


_SSE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events until the task is final: `event: event` for each "
        "recorded state change, `event: progress` for a tick (status, percent, rows), each with "
        "an `id:` to send back as Last-Event-ID to resume",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    404: _ERROR,
    422: _ERROR,
}


@router.get("/tasks/{task_id}/events", responses=_SSE_ANSWER, response_class=StreamingResponse)
async def task_events(
    request: Request,
    task_id: str,
    runtime: RuntimeDep,
    who: Viewer,
    last_event_id: Annotated[
        str,
        Header(
            max_length=30,
            pattern=r"^([0-9]{1,18}(\.[0-9]{1,9})?)?$",
            description="The last `id:` received, to resume after it",
        ),
    ] = "",
) -> StreamingResponse:
    """The task's updates as Server-Sent Events, live, until it is final."""
    after = live.parse_last_id(last_event_id)
    stream = live.updates(runtime.reading(), runtime.wakeups, task_id, after, viewer=who)
    first = await anext(stream)  # an unknown task is a 404 before the stream starts
    token = bearer_of(request)

    async def body() -> AsyncIterator[bytes]:
        update: live.Update | None = first
        try:
            while True:
                if not await still_allowed(runtime, token, Role.VIEWER):
                    # Revoked, expired or signed out since the stream began (checked on
                    # keep-alives too): reconnecting gets the 401.
                    return
                if update is None:
                    yield b": keep-alive\n\n"
                else:
                    data = json.dumps(update.payload(), separators=(",", ":"))
                    yield f"id: {update.id}\nevent: {update.kind}\ndata: {data}\n\n".encode()
                    if update.final:
                        return
                update = await anext(stream)
        except StopAsyncIteration:
            return
        finally:
            await stream.aclose()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

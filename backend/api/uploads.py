"""REST: resumable upload sessions (backend.ingestion.resumable). A client creates a session,
sends its parts in any order and in parallel (to presigned S3 addresses, or to this service's
signed part route for the local folder), asks which parts are in, and completes it into a task
exactly as a single-request upload's; or aborts it."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from backend.api.ingest import status_url
from backend.deps import RuntimeDep, SessionDep, Uploader
from backend.ingestion import intake
from backend.ingestion.resumable import completion, plan, receiving, service
from backend.ingestion.resumable.models import SessionStatus
from backend.ingestion.resumable.plan import Env
from backend.ingestion.resumable.schemas import (
    CompleteBody,
    NewSession,
    PartAddresses,
    PartOut,
    PartsAsk,
    SessionOut,
    SessionPage,
)
from backend.ingestion.schemas import UploadAccepted
from backend.runtime import Runtime
from backend.storage import parts

router = APIRouter(prefix=plan.PATH, tags=["uploads"])

_ERROR = {"description": "The error and what to change", "content": {"application/json": {}}}
_MISSING = {"description": "No such session of yours", **_ERROR}
_PART_PUT = re.compile(r"^/api/uploads/[^/]{1,64}/parts/[0-9]{1,5}$")
SessionId = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]{1,32}$")]


def part_route_limit(settings: Any) -> Any:
    """The body limit of the part route (the largest part a session may have), None elsewhere:
    for BodyLimit."""
    largest = plan.largest_part(settings)

    def limit(path: str) -> int | None:
        return largest if _PART_PUT.match(path) else None

    return limit


def _env(runtime: Runtime) -> Env:
    return Env(
        settings=runtime.settings,
        intake=runtime.intake(),
        parts=parts.target(runtime.store, runtime.settings),
        sessions=runtime.sessions,
        signing_key=runtime.signing_key,
        metrics=runtime.metrics.registry,
    )


def _out(request: Request, runtime: Runtime, view: service.View) -> SessionOut:
    row = view.row
    url = status_url(request, row.task_id) if row.task_id else None
    kind = parts.target(runtime.store, runtime.settings).kind
    return SessionOut.of(row, kind, view.parts, url)


def _base_url(request: Request, runtime: Runtime) -> str:
    return runtime.settings.public_url or str(request.base_url)


@router.post(
    "",
    status_code=201,
    responses={404: _ERROR, 403: _ERROR, 422: _ERROR, 429: _ERROR},
    summary="Start a resumable upload: a session that takes the file in parts",
)
async def create_session(
    request: Request,
    body: NewSession,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
) -> SessionOut:
    view = await service.create(session, _env(runtime), principal, body)
    return _out(request, runtime, view)


@router.get("", summary="Your upload sessions, newest first (at most 100)")
async def list_sessions(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
    status: SessionStatus | None = None,
) -> SessionPage:
    rows, total = await service.list_sessions(session, principal, status)
    items = [_out(request, runtime, service.View(row, [])) for row in rows]
    return SessionPage(items=items, total=total)


@router.get("/{session_id}", responses={404: _MISSING}, summary="An upload session and its parts")
async def get_session(
    request: Request,
    session_id: SessionId,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
) -> SessionOut:
    view = await service.get(session, _env(runtime), principal, session_id)
    return _out(request, runtime, view)


@router.post(
    "/{session_id}/parts",
    responses={404: _MISSING, 409: _ERROR, 422: _ERROR},
    summary="Where to PUT parts: an address per part, valid for UPLOAD_PART_URL_SECONDS",
)
async def part_addresses(
    request: Request,
    session_id: SessionId,
    body: PartsAsk,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
) -> PartAddresses:
    found = await service.part_addresses(
        session, _env(runtime), principal, session_id, body.parts, _base_url(request, runtime)
    )
    return PartAddresses(parts=found)


@router.put(
    "/{session_id}/parts/{number}",
    responses={
        200: {"description": "The part is stored; ETag: its sha256 (hex), quoted"},
        403: _ERROR,
        409: _ERROR,
        413: _ERROR,
        422: _ERROR,
    },
    summary="Send one part (local folder storage), at the signed address the service gave",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_part(
    request: Request,
    response: Response,
    session_id: SessionId,
    number: Annotated[int, Path(ge=1, le=10_000)],
    runtime: RuntimeDep,
    expires: Annotated[str | None, Query(max_length=20)] = None,
    signature: Annotated[str | None, Query(max_length=128)] = None,
    checksum: Annotated[str | None, Header(alias="x-amz-checksum-sha256", max_length=100)] = None,
) -> PartOut:
    """Authorised by the address's signature alone (as a presigned S3 address is): no token."""
    stored = await receiving.receive(
        _env(runtime), session_id, number, (expires, signature), checksum, request.stream()
    )
    response.headers["ETag"] = f'"{stored.etag}"'
    return stored


@router.post(
    "/{session_id}/complete",
    status_code=202,
    response_model=UploadAccepted,
    responses={
        200: {"description": "The same bytes were uploaded already", "model": UploadAccepted},
        404: _MISSING,
        409: {"description": "Parts missing or of the wrong size (named)", **_ERROR},
        415: _ERROR,
        422: _ERROR,
    },
    summary="Complete an upload session: its file becomes a task, as a single upload's",
)
async def complete_session(
    request: Request,
    response: Response,
    session_id: SessionId,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Uploader,
    body: CompleteBody | None = None,
) -> UploadAccepted:
    asked = body or CompleteBody()
    accepted = await completion.complete(
        session, _env(runtime), principal, session_id, asked.sha256, asked.parts
    )
    if not accepted.created:
        response.status_code = 200
    return intake.answer(accepted, status_url(request, accepted.task.id))


@router.delete(
    "/{session_id}",
    status_code=204,
    responses={404: _MISSING, 409: _ERROR},
    summary="Abort an upload session: its parts are removed",
)
async def abort_session(
    session_id: SessionId, session: SessionDep, runtime: RuntimeDep, principal: Uploader
) -> Response:
    await service.abort(session, _env(runtime), principal, session_id)
    return Response(status_code=204)

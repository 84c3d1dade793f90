"""REST for one's own notifications: the list, the unread count, marking read, and a live
stream (Server-Sent Events). Thin: the rules live in backend.notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from backend.api.errors import ErrorBody
from backend.auth import users
from backend.auth.roles import Role
from backend.deps import RuntimeDep, SessionDep, Viewer, bearer_of, still_allowed
from backend.notifications import live, service
from backend.notifications.schemas import (
    MAX_PAGE,
    MarkReadIn,
    NotificationOut,
    NotificationPageOut,
    UnreadOut,
)

router = APIRouter(prefix="/api/notifications", tags=["notifications"])
_ERROR: dict[str, Any] = {"model": ErrorBody}
_ID = r"^[0-9]{1,18}$"


@router.get(
    "",
    responses={401: _ERROR, 422: _ERROR},
    summary="Your notifications, newest first, with how many are unread",
)
async def list_notifications(
    session: SessionDep,
    principal: Viewer,
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    before: Annotated[
        str | None, Query(pattern=_ID, description="Only those older than this id")
    ] = None,
) -> NotificationPageOut:
    user = users.own_id(principal)
    return await service.page(session, user, unread_only=unread, limit=limit, before=before)


@router.get("/unread-count", responses={401: _ERROR}, summary="How many of yours are unread")
async def unread_count(session: SessionDep, principal: Viewer) -> UnreadOut:
    return UnreadOut(unread=await service.unread(session, users.own_id(principal)))


@router.post(
    "/read",
    responses={401: _ERROR, 422: _ERROR},
    summary="Mark yours read: the ids given (others are ignored), or all; the unread count left",
)
async def mark_read(body: MarkReadIn, session: SessionDep, principal: Viewer) -> UnreadOut:
    return UnreadOut(unread=await service.mark_read(session, users.own_id(principal), body))


_SSE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `event: notification` with the notification as "
        "JSON for each new one (its `id:` resumes after it as Last-Event-ID), a comment now and "
        "then; ends when the token stops being valid",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    401: _ERROR,
    422: _ERROR,
}


def _event(item: NotificationOut) -> bytes:
    return f"id: {item.id}\nevent: notification\ndata: {item.model_dump_json()}\n\n".encode()


@router.get("/stream", responses=_SSE_ANSWER, response_class=StreamingResponse)
async def stream(
    request: Request,
    runtime: RuntimeDep,
    principal: Viewer,
    last_event_id: Annotated[
        str,
        Header(
            max_length=18,
            pattern=r"^([0-9]{1,18})?$",
            description="The last `id:` received, to get what came after it",
        ),
    ] = "",
) -> StreamingResponse:
    """Your new notifications, live, as Server-Sent Events."""
    user = users.own_id(principal)
    reading = runtime.reading()
    after = int(last_event_id) if last_event_id else await live.now(reading, user)
    updates = live.stream(reading, runtime.wakeups, user, after)
    token = bearer_of(request)

    async def body() -> AsyncIterator[bytes]:
        yield b": connected\n\n"
        try:
            async for item in updates:
                if not await still_allowed(runtime, token, Role.VIEWER):
                    return  # revoked or expired since: reconnecting gets the 401
                yield b": keep-alive\n\n" if item is None else _event(item)
        finally:
            await updates.aclose()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

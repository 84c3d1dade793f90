"""The record of a part being written (local folder). A part's write begins with its record
moved to "writing" in a short transaction that holds the session's row (SELECT ... FOR UPDATE;
SQLite serialises writers) and checks the session is open: complete, which takes the same row
to move the session to completing, refuses while a part is being written, so no byte is written
once complete has begun. The write ends by recording the part stored, or (any failure) by
removing its record: a part whose bytes were overwritten is never believed good, complete names
it missing and the client sends it again.

A write that outlives its part's time limit (plan.part_time_limit, plus STALE_MARGIN for its
last block) has been cut off (its process died, or it gave up): it counts as missing."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.limits import TooManyRequests
from backend.config import Settings
from backend.db import session_scope, utcnow
from backend.errors import Conflict
from backend.ingestion.resumable import plan
from backend.ingestion.resumable.models import PartState, SessionStatus, UploadPart, UploadSession
from backend.ingestion.resumable.plan import Env
from backend.storage.parts import StoredPart

# A write past its time limit may still be finishing the block it had begun.
STALE_MARGIN = dt.timedelta(seconds=30)


def not_stored(number: int) -> str:
    return f"Part {number} was not stored; send it again"


def is_stale(part: UploadPart, row: UploadSession, settings: Settings, now: dt.datetime) -> bool:
    """A part being written whose write went past its time limit (cut off)."""
    if part.state != PartState.WRITING.value or part.started_at is None:
        return False
    size = plan.part_bytes(part.number, row.size_bytes, row.part_size)
    limit = dt.timedelta(seconds=plan.part_time_limit(settings, size))
    return part.started_at + limit + STALE_MARGIN < now


async def locked(session: AsyncSession, session_id: str) -> UploadSession:
    query = select(UploadSession).where(UploadSession.id == session_id).with_for_update()
    return (await session.execute(query)).scalar_one()


def require_open(row: UploadSession) -> None:
    if row.status != SessionStatus.OPEN.value:
        raise Conflict(
            f"upload session {row.id} is {row.status}: it takes no more parts",
            "Start a new session (POST /api/uploads) to send the file again."
            if row.status != SessionStatus.COMPLETING.value
            else "It is being completed; GET /api/uploads/{id} names its task once it is done.",
        )


async def begin(env: Env, session_id: str, number: int, size: int) -> tuple[str, float]:
    """Record the part as being written by a new writer; returns the writer's token and its
    deadline (time.time()). 409 unless the session is open; 429 while another request writes
    the same part."""
    token = uuid.uuid4().hex
    async with session_scope(env.sessions) as session:
        row = await locked(session, session_id)
        require_open(row)
        now = utcnow()
        part = await session.get(UploadPart, (session_id, number))
        if part is None:
            part = UploadPart(session_id=session_id, number=number, size=size, sha256="")
            session.add(part)
        elif part.state == PartState.WRITING.value and not is_stale(part, row, env.settings, now):
            raise TooManyRequests(
                f"part {number} is being sent by another request",
                "Send it again once that one ends; one request at a time writes a part.",
                5,
            )
        part.state, part.writer, part.started_at = PartState.WRITING.value, token, now
        part.size, part.sha256, part.received_at = size, "", now
    return token, now.timestamp() + plan.part_time_limit(env.settings, size)


async def finish(env: Env, session_id: str, number: int, token: str, stored: StoredPart) -> None:
    """Record the part stored, if this writer still holds it and the session is open."""
    async with session_scope(env.sessions) as session:
        row = await locked(session, session_id)
        part = await session.get(UploadPart, (session_id, number))
        if row.status != SessionStatus.OPEN.value or part is None or part.writer != token:
            raise Conflict(
                f"part {number} was cut off: it took longer than its time limit, or the "
                f"session is {row.status}",
                f"{not_stored(number)} (the session must be open).",
            )
        part.state, part.writer, part.started_at = PartState.STORED.value, None, None
        part.size, part.sha256, part.received_at = stored.size, stored.etag, utcnow()


async def forget(env: Env, session_id: str, number: int, token: str) -> None:
    """The write failed: the part is missing (if this writer still holds its record)."""
    async with session_scope(env.sessions) as session:
        await session.execute(
            delete(UploadPart).where(
                UploadPart.session_id == session_id,
                UploadPart.number == number,
                UploadPart.writer == token,
            )
        )


async def being_written(session: AsyncSession, env: Env, row: UploadSession) -> list[int]:
    """The parts being written now (complete waits for them); records of writes cut off are
    removed (those parts are missing). Call with the session's row locked."""
    writing = await session.scalars(
        select(UploadPart).where(
            UploadPart.session_id == row.id, UploadPart.state == PartState.WRITING.value
        )
    )
    now = utcnow()
    live = []
    for part in writing:
        if is_stale(part, row, env.settings, now):
            await session.delete(part)
        else:
            live.append(part.number)
    return sorted(live)

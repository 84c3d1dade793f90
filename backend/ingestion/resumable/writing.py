"""The record of a part being written (local folder). A part's write begins with its record
moved to "writing" in a short transaction that holds the session's row (SELECT ... FOR UPDATE;
SQLite serialises writers) and checks the session is open: complete, which takes the same row
to move the session to completing, refuses while a part is being written, so no byte is written
once complete has begun. The write ends by recording the part stored, or (any failure) by
removing its record: a part whose bytes were overwritten is never believed good, complete names
it missing and the client sends it again.

A writer keeps its record alive (`kept`): every BEAT_SECONDS, in a short transaction, it records
that it is still writing (the record's started_at). A record not refreshed for STALE_AFTER was
cut off (its process died, say a crash or kill -9): the part counts as missing and may be sent
again at once. A writer that could not refresh its record for HELD_SECONDS (the database away),
or finds it taken over, stops before it writes another block: no two writers ever write the
same part at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.limits import TooManyRequests
from backend.db import session_scope, utcnow
from backend.errors import Conflict
from backend.ingestion.resumable import plan
from backend.ingestion.resumable.models import PartState, SessionStatus, UploadPart, UploadSession
from backend.ingestion.resumable.plan import Env
from backend.storage.parts import StoredPart

log = logging.getLogger(__name__)

# A writer refreshes its record every BEAT_SECONDS; a record not refreshed for STALE_AFTER is
# cut off. A writer whose record was last refreshed HELD_SECONDS ago stops: the margin between
# the two covers the block it may be writing.
BEAT_SECONDS = 10.0
HELD_SECONDS = 20.0
STALE_AFTER = dt.timedelta(seconds=30)
RETRY_SECONDS = 5  # complete's Retry-After while a part is being written


def not_stored(number: int) -> str:
    return f"Part {number} was not stored; send it again"


def is_stale(part: UploadPart, now: dt.datetime) -> bool:
    """A part being written whose writer has not refreshed its record for STALE_AFTER."""
    if part.state != PartState.WRITING.value or part.started_at is None:
        return False
    return part.started_at + STALE_AFTER < now


def wait_seconds(part: UploadPart, now: dt.datetime) -> int:
    """Seconds until a part being written counts as cut off, if its writer stopped."""
    assert part.started_at is not None
    return math.ceil((part.started_at + STALE_AFTER - now).total_seconds())


class StillWriting(Conflict):
    """Complete refused while a part is being written: asked again in a few seconds."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_SECONDS)}


def being_sent(number: int, retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        f"Part {number} is being sent by another request (or one that stopped less than "
        f"{STALE_AFTER.seconds} seconds ago); send it again in a few seconds",
        "One request at a time writes a part. A request that stopped (its connection lost, or "
        f"the server restarted) holds it for {STALE_AFTER.seconds} seconds at most.",
        retry_after,
    )


async def locked(session: AsyncSession, session_id: str) -> UploadSession:
    query = select(UploadSession).where(UploadSession.id == session_id).with_for_update()
    return (await session.execute(query)).scalar_one()


async def begin(env: Env, session_id: str, number: int, size: int) -> tuple[str, float]:
    """Record the part as being written by a new writer; returns the writer's token and its
    deadline (time.time()). 409 unless the session is open; 429 while another request writes
    the same part."""
    token = uuid.uuid4().hex
    async with session_scope(env.sessions) as session:
        row = await locked(session, session_id)
        plan.require_open(row)
        now = utcnow()
        part = await session.get(UploadPart, (session_id, number))
        if part is None:
            part = UploadPart(session_id=session_id, number=number, size=size, sha256="")
            session.add(part)
        elif part.state == PartState.WRITING.value and not is_stale(part, now):
            raise being_sent(number, wait_seconds(part, now))
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
        if is_stale(part, now):
            await session.delete(part)
        else:
            live.append(part.number)
    return sorted(live)


@dataclass
class Lease:
    """A writer's hold on its part's record: it writes no block after `held_until`
    (time.time())."""

    number: int
    held_until: float = field(default_factory=lambda: time.time() + HELD_SECONDS)

    def check(self) -> None:
        if time.time() > self.held_until:
            raise Conflict(
                f"part {self.number} was cut off: another request is sending it, or the "
                "service could not record that this one still is",
                f"{not_stored(self.number)}.",
            )


@asynccontextmanager
async def kept(env: Env, session_id: str, number: int, token: str) -> AsyncIterator[Lease]:
    """The writer's record, refreshed every BEAT_SECONDS while the part is written."""
    lease = Lease(number)
    beating = asyncio.create_task(_beat(env, session_id, token, lease))
    try:
        yield lease
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


async def _beat(env: Env, session_id: str, token: str, lease: Lease) -> None:
    while True:
        await asyncio.sleep(BEAT_SECONDS)
        try:
            held = await refresh(env, session_id, lease.number, token)
        except Exception:  # noqa: BLE001 - the next beat tries again; the lease runs out
            log.warning("upload session %s: could not refresh part %d", session_id, lease.number)
            continue
        if not held:  # taken over, or the session aborted
            lease.held_until = 0.0
            return
        lease.held_until = time.time() + HELD_SECONDS


async def refresh(env: Env, session_id: str, number: int, token: str) -> bool:
    """Record that `token` still writes the part; False when it no longer holds it."""
    async with session_scope(env.sessions) as session:
        done = await session.execute(
            update(UploadPart)
            .where(
                UploadPart.session_id == session_id,
                UploadPart.number == number,
                UploadPart.writer == token,
                UploadPart.state == PartState.WRITING.value,
            )
            .values(started_at=utcnow())
        )
    return bool(getattr(done, "rowcount", 0))

"""Upload sessions: create one (checked as an upload is, before any byte), read it, hand out
its part addresses, abort it. Receiving a local part is `receiving`, completing `completion`.

Services flush; the caller's scope (the request) commits."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import filenames
from backend.auth.limits import TooManyRequests
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ingestion import intake
from backend.ingestion.resumable import plan
from backend.ingestion.resumable.models import (
    PartState,
    SessionStatus,
    UploadPart,
    UploadSession,
)
from backend.ingestion.resumable.plan import MIB, Env
from backend.ingestion.resumable.schemas import NewSession, PartAddressOut, PartAsked, PartOut
from backend.ingestion.uploads import upload_options
from backend.storage.parts import S3Parts, session_key
from backend.units import format_bytes

ACTIVE = (SessionStatus.OPEN.value, SessionStatus.COMPLETING.value)
# A session completing whose complete call has not been heard of for this long died (a crash):
# the next complete takes it over, and abort may remove it. A live complete says so every
# completion.HEARTBEAT_SECONDS.
COMPLETING_STALE = dt.timedelta(minutes=2)
LISTED_AT_MOST = 100


@dataclass(frozen=True)
class View:
    """A session and the parts its store holds."""

    row: UploadSession
    parts: list[PartOut]


async def create(session: AsyncSession, env: Env, actor: Principal, new: NewSession) -> View:
    """A new open session, its store's multipart upload (or file) begun."""
    name = await intake.refuse_early(env.sessions, new.datasource_name, actor)
    options = upload_options(
        on_invalid=new.on_invalid,
        max_invalid_ratio=new.max_invalid_ratio,
        sheet=new.sheet,
        time_column=new.time_column,
        mode=new.mode,
        evolve=new.evolve,
    )
    settings = env.settings
    largest = settings.upload_session_max_mb * MIB
    if new.size > largest:
        raise InvalidInput(
            f"the file is {format_bytes(new.size)}; an upload session takes at most "
            f"{format_bytes(largest)}",
            "Split the file, or raise UPLOAD_SESSION_MAX_MB on the server.",
        )
    await _within_limits(session, env, actor, new.size)
    part_size = plan.part_size_for(new.size, settings.upload_part_mb)
    session_id = uuid.uuid4().hex
    key = session_key(session_id, filenames.storage_name(new.filename))
    upload_id = await env.parts.create(key, new.size)
    now = utcnow()
    row = UploadSession(
        id=session_id,
        owner_id=actor.id,
        owner_name=actor.label[:128],
        filename=new.filename,
        size_bytes=new.size,
        sha256=new.sha256.lower() if new.sha256 else None,
        datasource=name,
        options={**options.as_dict(), "force": new.force, "dry_run": new.dry_run},
        part_size=part_size,
        part_count=plan.part_count(new.size, part_size),
        storage_key=key,
        s3_upload_id=upload_id,
        status=SessionStatus.OPEN.value,
        created_at=now,
        updated_at=now,
        expires_at=now + dt.timedelta(seconds=settings.upload_session_ttl_seconds),
    )
    session.add(row)
    await session.flush()
    return View(row, [])


async def _within_limits(session: AsyncSession, env: Env, actor: Principal, size: int) -> None:
    """UPLOAD_SESSIONS_PER_PRINCIPAL open sessions, UPLOAD_STAGED_MB_PER_PRINCIPAL staged."""
    count, staged = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(UploadSession.size_bytes), 0)).where(
                UploadSession.owner_id == actor.id, UploadSession.status.in_(ACTIVE)
            )
        )
    ).one()
    settings = env.settings
    if count >= settings.upload_sessions_per_principal:
        raise TooManyRequests(
            f"you have {count} unfinished upload sessions, the most one caller may have",
            "Complete or abort one (DELETE /api/uploads/{id}; GET /api/uploads?status=open "
            "lists them), or wait until one expires; an operator may raise "
            "UPLOAD_SESSIONS_PER_PRINCIPAL.",
            60,
        )
    allowed = settings.upload_staged_mb_per_principal * MIB
    if int(staged) + size > allowed:
        raise TooManyRequests(
            f"your unfinished upload sessions would hold {format_bytes(int(staged) + size)}, "
            f"more than the {format_bytes(allowed)} one caller may stage",
            "Complete or abort an unfinished session first (GET /api/uploads?status=open lists "
            "them); an operator may raise UPLOAD_STAGED_MB_PER_PRINCIPAL.",
            60,
        )


async def find(
    session: AsyncSession, actor: Principal, session_id: str, *, lock: bool = False
) -> UploadSession:
    """The caller's session (any session for an admin); 404 for anyone else's."""
    query = select(UploadSession).where(UploadSession.id == session_id[:32])
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None or not (row.owner_id == actor.id or actor.allows(Role.ADMIN)):
        raise NotFound(
            f"no upload session {session_id[:40]!r}",
            "GET /api/uploads lists your sessions; a session is seen by its owner only.",
        )
    return row


async def stored_parts(session: AsyncSession, env: Env, row: UploadSession) -> list[PartOut]:
    """The parts the store holds, by number: S3's list of the multipart upload, or the parts
    this service received (local folder). Only an open session has parts to list."""
    if row.status not in ACTIVE:
        return []
    listed = await env.parts.listed(row.storage_key, row.s3_upload_id)
    if listed == [] and await env.parts.size(row.storage_key) == row.size_bytes:
        return _assembled(row)
    if listed is not None:
        return [PartOut(number=p.number, size=p.size, etag=p.etag) for p in listed]
    received = await session.scalars(
        select(UploadPart)
        .where(UploadPart.session_id == row.id, UploadPart.state == PartState.STORED.value)
        .order_by(UploadPart.number)
    )
    return [PartOut(number=p.number, size=p.size, etag=p.sha256) for p in received]


def _assembled(row: UploadSession) -> list[PartOut]:
    """Every part of an S3 session whose object was assembled by a complete that failed after
    it (S3 lists no parts then): nothing is left to send, completing it again takes the object."""
    return [
        PartOut(number=n, size=plan.part_bytes(n, row.size_bytes, row.part_size), etag="")
        for n in range(1, row.part_count + 1)
    ]


async def get(session: AsyncSession, env: Env, actor: Principal, session_id: str) -> View:
    row = await find(session, actor, session_id)
    return View(row, await stored_parts(session, env, row))


async def list_sessions(
    session: AsyncSession, actor: Principal, status: SessionStatus | None
) -> tuple[list[UploadSession], int]:
    """The caller's sessions, newest first (at most LISTED_AT_MOST), and how many there are.
    Parts are not listed here (GET one session for them)."""
    where = [UploadSession.owner_id == actor.id]
    if status is not None:
        where.append(UploadSession.status == status.value)
    total = await session.scalar(select(func.count()).select_from(UploadSession).where(*where))
    rows = await session.scalars(
        select(UploadSession)
        .where(*where)
        .order_by(UploadSession.created_at.desc(), UploadSession.id)
        .limit(LISTED_AT_MOST)
    )
    return list(rows), int(total or 0)


async def part_addresses(
    session: AsyncSession,
    env: Env,
    actor: Principal,
    session_id: str,
    asked: list[PartAsked],
    base_url: str,
) -> list[PartAddressOut]:
    """Where to PUT each part asked for, valid UPLOAD_PART_URL_SECONDS; open sessions only."""
    row = await find(session, actor, session_id)
    plan.require_open(row)
    outside = [p.number for p in asked if p.number > row.part_count]
    if outside:
        raise InvalidInput(
            f"part {outside[0]} is past the session's last part ({row.part_count})",
            f"Ask for parts 1 to {row.part_count}.",
        )
    seconds = int(env.settings.upload_part_url_seconds)
    expires = int(time.time()) + seconds
    expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
    found = []
    for part in asked:
        size = plan.part_bytes(part.number, row.size_bytes, row.part_size)
        headers = {"x-amz-checksum-sha256": part.sha256} if part.sha256 else {}
        if isinstance(env.parts, S3Parts):
            assert row.s3_upload_id is not None
            address = env.parts.address(
                row.storage_key, row.s3_upload_id, part.number, seconds, part.sha256
            )
            url, headers = address.url, address.headers
        else:
            url = plan.signed_part_url(
                base_url, row.id, part.number, size, env.signing_key, expires
            )
        found.append(
            PartAddressOut(number=part.number, url=url, headers=headers, expires_at=expires_at)
        )
    return found


def completing_stale(row: UploadSession) -> bool:
    """A session left completing by a complete call that died."""
    return row.updated_at < utcnow() - COMPLETING_STALE


async def abort(session: AsyncSession, env: Env, actor: Principal, session_id: str) -> None:
    """Remove the session's parts (S3: abort its multipart upload; local: its file)."""
    row = await find(session, actor, session_id, lock=True)
    if row.status == SessionStatus.COMPLETED.value:
        raise Conflict(
            f"upload session {row.id} is completed: its file is task {row.task_id}'s now",
            "Cancel the task instead (POST /api/ingest/tasks/{id}/cancel).",
        )
    if row.status == SessionStatus.COMPLETING.value and not completing_stale(row):
        raise Conflict(
            f"upload session {row.id} is being completed: it cannot be aborted now",
            "GET /api/uploads/{id} says how it ended: it names its task once completed; if "
            "completing failed, the session is open again and may be aborted then.",
        )
    if row.status in ACTIVE:
        await env.parts.abort(row.storage_key, row.s3_upload_id)
        row.status = SessionStatus.ABORTED.value
        row.updated_at = utcnow()
        await session.flush()

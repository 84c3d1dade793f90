"""Completing an upload session: every part present with its size, the store's object made
whole (S3: CompleteMultipartUpload), its format recognised from its first bytes, its sha256
checked, then `Intake.accept` records the task exactly as a single-request upload's (duplicates
included). The session moves to completed with its task in the request's transaction; completing
it again answers the same task.

The file's sha256: the local folder's file is read back in a thread and compared with the one
declared. With S3, a declared sha256 is recorded (the task's `sha256_declared` option) and the
worker checks it as it reads the file (backend.worker.processing), so the service reads nothing
back; such a hash is not trusted before then, so no duplicate is looked for at complete (the
worker does, once the hash is verified). Without one the service reads the object back once to
compute it (the duplicate check needs it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import session_scope, utcnow
from backend.errors import Conflict, InvalidInput, UnsupportedMediaType
from backend.ingestion.acceptance import Accepted
from backend.ingestion.intake import Intake, sniff
from backend.ingestion.resumable import plan, writing
from backend.ingestion.resumable.models import SessionStatus, UploadSession
from backend.ingestion.resumable.plan import Env
from backend.ingestion.resumable.schemas import PartOut, PartSent
from backend.ingestion.resumable.service import ACTIVE, completing_stale, find, stored_parts
from backend.ingestion.uploads import StagedUpload
from backend.pipeline.normalize import UploadOptions
from backend.pipeline.sniff import SNIFF_BYTES, FileFormat
from backend.storage.parts import S3Parts, StoredPart
from backend.tasks import repository

log = logging.getLogger(__name__)
NAMED_AT_MOST = 20  # missing or wrong parts named in a 409
# A live complete says so every HEARTBEAT_SECONDS (service.COMPLETING_STALE: one that died).
HEARTBEAT_SECONDS = 30.0


async def complete(
    session: AsyncSession,
    env: Env,
    actor: Principal,
    session_id: str,
    declared: str | None,
    sent: list[PartSent] | None,
) -> Accepted:
    """The session's task (`Accepted.created` false: a duplicate). A refusal that can never
    succeed (content not accepted, bytes not the declared ones) aborts the session; any other
    failure (parts missing, no write access, the store away, an unexpected error) leaves it
    open with its parts, to complete again."""
    row = await _begin(env, actor, session_id)
    if row.status == SessionStatus.COMPLETED.value:
        return await _again(session, row)
    try:
        return await _complete(session, env, actor, row, declared, sent)
    except (UnsupportedMediaType, DigestMismatch):
        await session.rollback()
        await _give_up(env, row)
        raise
    except BaseException:
        await session.rollback()
        await _set_status(env, row.id, SessionStatus.OPEN)
        raise


async def _complete(
    session: AsyncSession,
    env: Env,
    actor: Principal,
    row: UploadSession,
    declared: str | None,
    sent: list[PartSent] | None,
) -> Accepted:
    sha256 = (declared or row.sha256 or "").lower() or None
    if declared and row.sha256 and declared.lower() != row.sha256:
        raise InvalidInput(
            "the sha256 sent does not match the one declared when the session was created",
            "Send the file's sha256 as declared, or none.",
        )
    async with _heartbeat(env, row.id):
        staged = await _staged(env, row, sha256, sent)
    # S3 with a declared sha256: nothing read the bytes yet, so the hash is not trusted for the
    # duplicate check; the worker checks it as it reads the file, then looks for a duplicate.
    unread = sha256 is not None and isinstance(env.parts, S3Parts)
    accepted = await _accept(session, env.intake, staged, row, actor, dedupe=not unread)
    if not accepted.created:  # a duplicate: its bytes are not kept
        await env.parts.abort(row.storage_key, row.s3_upload_id)
    elif unread:
        accepted.task.options = {
            **accepted.task.options,
            "force": bool(row.options.get("force", False)),
            "sha256_declared": True,
        }
    await _completed(session, row.id, accepted.task.id)
    return accepted


class DigestMismatch(InvalidInput):
    """The assembled file's sha256 is not the one declared: sending it again cannot help."""


@dataclass
class _SessionFile(StagedUpload):
    """The session's file as accept sees it: kept when accept refuses or its transaction rolls
    back (the session stays open, to complete again); a duplicate's is removed by `complete`."""

    async def discard(self) -> None:
        return None


async def _accept(
    session: AsyncSession,
    intake: Intake,
    staged: StagedUpload,
    row: UploadSession,
    actor: Principal,
    *,
    dedupe: bool,
) -> Accepted:
    return await intake.accept(
        session,
        staged,
        row.datasource,
        force=bool(row.options.get("force", False)) or not dedupe,
        options=UploadOptions.from_dict(row.options),
        actor=actor,
        dry_run=bool(row.options.get("dry_run", False)),
    )


async def _begin(env: Env, actor: Principal, session_id: str) -> UploadSession:
    """The session, moved to completing (parts are refused from now on) and committed; a
    session left completing for COMPLETING_STALE (its complete call died) is taken over."""
    async with session_scope(env.sessions) as own:
        row = await find(own, actor, session_id, lock=True)
        if row.status == SessionStatus.COMPLETING.value and not completing_stale(row):
            raise Conflict(
                f"upload session {row.id} is being completed",
                "Ask again shortly: GET /api/uploads/{id} names its task once it is done.",
            )
        if row.status not in (*ACTIVE, SessionStatus.COMPLETED.value):
            raise Conflict(
                f"upload session {row.id} is {row.status}: its parts are gone",
                "Start a new session (POST /api/uploads) to send the file again.",
            )
        if row.status in ACTIVE:
            await _no_writers(own, env, row)
            row.status = SessionStatus.COMPLETING.value
            row.updated_at = utcnow()
    return row


async def _no_writers(own: AsyncSession, env: Env, row: UploadSession) -> None:
    """Complete waits for the parts being written (no byte is written once it has begun)."""
    busy = await writing.being_written(own, env, row)
    if busy:
        one = len(busy) == 1
        raise writing.StillWriting(
            f"{_parts(busy)} {'is' if one else 'are'} still being sent",
            "Complete again once "
            + ("it ends" if one else "they end")
            + f", in a few seconds: {'it is' if one else 'they are'} being sent by another "
            f"request (or one that stopped less than {writing.STALE_AFTER.seconds} seconds ago). "
            "GET /api/uploads/{id} lists the parts received.",
        )


@asynccontextmanager
async def _heartbeat(env: Env, session_id: str) -> AsyncIterator[None]:
    """While the long part of complete runs, the session's updated_at is kept fresh: only a
    complete that died leaves it stale, to be taken over."""
    beating = asyncio.create_task(_beat(env, session_id))
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


async def _beat(env: Env, session_id: str) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            async with session_scope(env.sessions) as own:
                await own.execute(
                    update(UploadSession)
                    .where(
                        UploadSession.id == session_id,
                        UploadSession.status == SessionStatus.COMPLETING.value,
                    )
                    .values(updated_at=utcnow())
                )
        except Exception:  # noqa: BLE001 - the next beat tries again; complete goes on
            log.warning("upload session %s: could not mark it as still completing", session_id)


async def _give_up(env: Env, row: UploadSession) -> None:
    """Abort a session that cannot complete; it stays open when its parts cannot be removed."""
    try:
        await env.parts.abort(row.storage_key, row.s3_upload_id)
    except BaseException:
        await _set_status(env, row.id, SessionStatus.OPEN)
        raise
    await _set_status(env, row.id, SessionStatus.ABORTED)


async def _set_status(env: Env, session_id: str, status: SessionStatus) -> None:
    async with session_scope(env.sessions) as own:
        row = await own.get(UploadSession, session_id)
        if row is not None and row.status == SessionStatus.COMPLETING.value:
            row.status = status.value
            row.updated_at = utcnow()


async def _completed(session: AsyncSession, session_id: str, task_id: str) -> None:
    row = (
        await session.execute(
            select(UploadSession).where(UploadSession.id == session_id).with_for_update()
        )
    ).scalar_one()
    if row.status != SessionStatus.COMPLETING.value or row.task_id is not None:
        raise Conflict(
            f"upload session {row.id} was completed by another call meanwhile",
            "GET /api/uploads/{id} names its task.",
        )
    row.status = SessionStatus.COMPLETED.value
    row.task_id = task_id
    row.updated_at = utcnow()
    await session.flush()


async def _again(session: AsyncSession, row: UploadSession) -> Accepted:
    """A completed session's task, answered as it was the first time."""
    assert row.task_id is not None
    task = await repository.find(session, row.task_id, events=False)
    if task is None:
        raise Conflict(
            f"upload session {row.id}'s task is gone",
            "Start a new session (POST /api/uploads) to send the file again.",
        )
    return Accepted(task=task, created=task.storage_key == row.storage_key)


async def _staged(
    env: Env, row: UploadSession, sha256: str | None, sent: list[PartSent] | None
) -> StagedUpload:
    """The whole file in the store, checked (parts missing or of the wrong size: 409)."""
    await _assemble(env, row, sent)
    file_format, digest = await _checked(env, row, sha256)
    return _SessionFile(
        task_id=uuid.uuid4().hex,
        filename=row.filename,
        key=row.storage_key,
        size=row.size_bytes,
        sha256=digest,
        file_format=file_format,
        store=env.intake.store,
    )


async def _assemble(env: Env, row: UploadSession, sent: list[PartSent] | None) -> None:
    if await env.parts.size(row.storage_key) == row.size_bytes and isinstance(env.parts, S3Parts):
        return  # completed by an earlier call that failed after it
    async with session_scope(env.sessions) as own:
        parts = await stored_parts(own, env, row)
    _check_parts(row, parts, sent)
    stored = [StoredPart(p.number, p.size, p.etag) for p in parts]
    await env.parts.complete(row.storage_key, row.s3_upload_id, stored)


def _check_parts(row: UploadSession, parts: list[PartOut], sent: list[PartSent] | None) -> None:
    have = {p.number: p for p in parts}
    missing = [n for n in range(1, row.part_count + 1) if n not in have]
    if missing:
        raise Conflict(
            f"{_parts(missing)} {'is' if len(missing) == 1 else 'are'} missing",
            f"Send {'it' if len(missing) == 1 else 'them'} and complete again "
            "(GET /api/uploads/{id} lists the parts received).",
        )
    wrong = [
        n
        for n, p in have.items()
        if n > row.part_count or p.size != plan.part_bytes(n, row.size_bytes, row.part_size)
    ]
    if wrong:
        raise Conflict(
            f"{_parts(wrong)} {'has' if len(wrong) == 1 else 'have'} the wrong size",
            f"Send them again: every part has {row.part_size} bytes but the last, which has "
            "the rest; then complete again.",
        )
    differ = [
        s.number
        for s in sent or []
        if s.number in have and have[s.number].etag != s.etag.strip('"')
    ]
    if differ:
        raise Conflict(
            f"{_parts(differ)} on the server {'is' if len(differ) == 1 else 'are'} not the "
            "one you sent (another ETag)",
            "Send them again, then complete again.",
        )


def _parts(numbers: list[int]) -> str:
    named = ", ".join(str(n) for n in sorted(numbers)[:NAMED_AT_MOST])
    more = len(numbers) - NAMED_AT_MOST
    word = "Part" if len(numbers) == 1 else "Parts"
    return f"{word} {named}" + (f" and {more} more" if more > 0 else "")


async def _checked(env: Env, row: UploadSession, declared: str | None) -> tuple[FileFormat, str]:
    """The file's format (from its first bytes) and sha256 (see the module's docstring)."""
    head = await env.parts.head(row.storage_key, SNIFF_BYTES)
    file_format = sniff(head)
    if declared is not None and isinstance(env.parts, S3Parts):
        return file_format, declared
    digest = await env.parts.sha256(row.storage_key)
    if declared is not None and digest != declared:
        raise DigestMismatch(
            "the file's bytes do not match the sha256 declared",
            "Start a new session (POST /api/uploads) and send the file again; its sha256 is "
            "checked when it is complete.",
        )
    return file_format, digest

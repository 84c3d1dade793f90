"""Completing an upload session: every part present with its size, the store's object made
whole (S3: CompleteMultipartUpload), its format recognised from its first bytes, its sha256
checked, then `Intake.accept` records the task exactly as a single-request upload's (duplicates
included). The session moves to completed with its task in the request's transaction; completing
it again answers the same task.

The file's sha256: the local folder's file is read back in a thread and compared with the one
declared. With S3, a declared sha256 is recorded (the task's `sha256_declared` option) and the
worker checks it as it reads the file (backend.worker.processing), so the service reads nothing
back; without one the service reads the object back once to compute it (the duplicate check
needs it)."""

from __future__ import annotations

import inspect
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import session_scope, utcnow
from backend.errors import AppError, Conflict, InvalidInput, UnsupportedMediaType
from backend.ingestion.acceptance import Accepted
from backend.ingestion.intake import Intake
from backend.ingestion.resumable import plan
from backend.ingestion.resumable.models import SessionStatus, UploadSession
from backend.ingestion.resumable.plan import Env
from backend.ingestion.resumable.schemas import PartOut, PartSent
from backend.ingestion.resumable.service import find, stored_parts
from backend.ingestion.uploads import StagedUpload
from backend.pipeline.normalize import UploadOptions
from backend.pipeline.sniff import SNIFF_BYTES, FileFormat, UnrecognisedContent, sniff_format
from backend.storage.parts import S3Parts, StoredPart
from backend.tasks import repository

NAMED_AT_MOST = 20  # missing or wrong parts named in a 409


async def complete(
    session: AsyncSession,
    env: Env,
    actor: Principal,
    session_id: str,
    declared: str | None,
    sent: list[PartSent] | None,
) -> Accepted:
    """The session's task (`Accepted.created` false: a duplicate)."""
    row = await _begin(env, actor, session_id)
    if row.status == SessionStatus.COMPLETED.value:
        return await _again(session, row)
    sha256 = (declared or row.sha256 or "").lower() or None
    if declared and row.sha256 and declared.lower() != row.sha256:
        await _set_status(env, row.id, SessionStatus.OPEN)
        raise InvalidInput(
            "the sha256 sent does not match the one declared when the session was created",
            "Send the file's sha256 as declared, or none.",
        )
    staged = await _staged(env, row, sha256, sent)
    try:
        accepted = await _accept(session, env.intake, staged, row, actor)
        if accepted.created and sha256 is not None and isinstance(env.parts, S3Parts):
            accepted.task.options = {**accepted.task.options, "sha256_declared": True}
        await _completed(session, row.id, accepted.task.id)
    except BaseException:
        await session.rollback()  # accept removed the file: the session cannot be completed
        await _set_status(env, row.id, SessionStatus.ABORTED)
        raise
    return accepted


async def _accept(
    session: AsyncSession,
    intake: Intake,
    staged: StagedUpload,
    row: UploadSession,
    actor: Principal,
) -> Accepted:
    options = UploadOptions.from_dict(row.options)
    extra = {}
    if "dry_run" in inspect.signature(intake.accept).parameters:
        extra["dry_run"] = bool(row.options.get("dry_run", False))
    # TODO(lead): once Intake.accept takes dry_run (helper B), drop this look-up and pass it.
    return await intake.accept(
        session,
        staged,
        row.datasource,
        force=bool(row.options.get("force", False)),
        options=options,
        actor=actor,
        **extra,
    )


async def _begin(env: Env, actor: Principal, session_id: str) -> UploadSession:
    """The session, moved to completing (parts are refused from now on) and committed."""
    async with session_scope(env.sessions) as own:
        row = await find(own, actor, session_id, lock=True)
        if row.status == SessionStatus.COMPLETING.value:
            raise Conflict(
                f"upload session {row.id} is being completed",
                "Ask again shortly: GET /api/uploads/{id} names its task once it is done.",
            )
        if row.status not in (SessionStatus.OPEN.value, SessionStatus.COMPLETED.value):
            raise Conflict(
                f"upload session {row.id} is {row.status}: its parts are gone",
                "Start a new session (POST /api/uploads) to send the file again.",
            )
        if row.status == SessionStatus.OPEN.value:
            row.status = SessionStatus.COMPLETING.value
            row.updated_at = utcnow()
    return row


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
    """The whole file in the store, checked. Parts missing or of the wrong size: 409, and the
    session is open again; content not accepted: the session is aborted."""
    try:
        await _assemble(env, row, sent)
    except AppError:
        await _set_status(env, row.id, SessionStatus.OPEN)
        raise
    try:
        file_format, digest = await _checked(env, row, sha256)
    except AppError:
        await env.parts.abort(row.storage_key, row.s3_upload_id)
        await _set_status(env, row.id, SessionStatus.ABORTED)
        raise
    return StagedUpload(
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
            "Send them and complete again (GET /api/uploads/{id} lists the parts received).",
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
    file_format = _sniff(head)
    if declared is not None and isinstance(env.parts, S3Parts):
        return file_format, declared
    digest = await env.parts.sha256(row.storage_key)
    if declared is not None and digest != declared:
        raise InvalidInput(
            "the file's bytes do not match the sha256 declared",
            "Start a new session (POST /api/uploads) and send the file again; its sha256 is "
            "checked when it is complete.",
        )
    return file_format, digest


def _sniff(head: bytes) -> FileFormat:
    try:
        return sniff_format(head)
    except UnrecognisedContent as exc:
        raise UnsupportedMediaType(
            f"unsupported file content: the upload looks like {exc}",
            "Upload a CSV (or TSV) text file, an Excel workbook (.xlsx, .xls) or a Parquet file. "
            "The format is recognised from the file's bytes, not its name.",
        ) from exc

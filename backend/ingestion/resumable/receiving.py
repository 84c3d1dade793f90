"""A part sent to the service itself (local folder): authorised by its address's signature
alone, as a presigned S3 address is; written at its offset of the session's file while it
arrives, never held whole."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator

from sqlalchemy import select

from backend.db import session_scope, utcnow
from backend.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge
from backend.ingestion.resumable import plan
from backend.ingestion.resumable.models import SessionStatus, UploadPart, UploadSession
from backend.ingestion.resumable.plan import Env
from backend.ingestion.resumable.schemas import PartOut
from backend.storage.parts import LocalParts, PartSizeWrong, StoredPart
from backend.units import format_bytes


def _refused() -> Forbidden:
    return Forbidden(
        "this part address is not valid (wrong signature, or expired)",
        "Ask for the part's address again: POST /api/uploads/{id}/parts.",
    )


async def _open_session(env: Env, session_id: str, number: int) -> UploadSession:
    async with session_scope(env.sessions) as session:
        row = await session.get(UploadSession, session_id[:32])
    if row is None or not 1 <= number <= row.part_count:
        raise _refused()
    return row


async def receive(
    env: Env,
    session_id: str,
    number: int,
    signed: tuple[str | None, str | None],
    checksum: str | None,
    chunks: AsyncIterator[bytes],
) -> PartOut:
    """Check the address (`signed`: expires, signature), write the part at its offset, check
    its size and its x-amz-checksum-sha256 when sent, and record it (sending it again replaces
    it)."""
    row = await _open_session(env, session_id, number)
    size = plan.part_bytes(number, row.size_bytes, row.part_size)
    if not plan.verify_part(row.id, number, size, *signed, env.signing_key):
        raise _refused()
    _require_open(row)
    wanted = _declared_digest(checksum)
    if not isinstance(env.parts, LocalParts):
        raise Conflict(
            "this service's storage takes parts at their presigned S3 addresses",
            "PUT each part to the url POST /api/uploads/{id}/parts answers.",
        )
    offset = (number - 1) * row.part_size
    try:
        stored = await env.parts.write_part(row.storage_key, offset, size, _counted(env, chunks))
    except PartSizeWrong as exc:
        raise _wrong_size(number, exc) from exc
    if wanted is not None and bytes.fromhex(stored.etag) != wanted:
        raise InvalidInput(
            f"part {number}'s bytes do not match its x-amz-checksum-sha256",
            "Send the part again, with the sha256 (base64) of exactly its bytes.",
        )
    await _record(env, row.id, number, stored)
    return PartOut(number=number, size=stored.size, etag=stored.etag)


async def _counted(env: Env, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The body's chunks, counted as they arrive (upload_part_bytes_total)."""
    counter = env.metrics.upload_part_bytes if env.metrics is not None else None
    async for chunk in chunks:
        if counter is not None:
            counter.inc(len(chunk))
        yield chunk


def _declared_digest(checksum: str | None) -> bytes | None:
    if checksum is None:
        return None
    try:
        digest = base64.b64decode(checksum.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise InvalidInput(
            "x-amz-checksum-sha256 is not a sha256 in base64",
            "Send the part's sha256 digest, base64-encoded (44 characters), or no such header.",
        )
    return digest


def _wrong_size(number: int, exc: PartSizeWrong) -> InvalidInput | PayloadTooLarge:
    if exc.received > exc.expected:
        return PayloadTooLarge(
            f"part {number} is larger than its {format_bytes(exc.expected)}",
            f"Send exactly {exc.expected} bytes for this part: every part has the session's "
            "part_size bytes but the last, which has the rest.",
        )
    return InvalidInput(
        f"part {number} has {exc.received} bytes; it must have {exc.expected}",
        "Send the part again, whole: every part has the session's part_size bytes but the "
        "last, which has the rest.",
    )


def _require_open(row: UploadSession) -> None:
    if row.status != SessionStatus.OPEN.value:
        raise Conflict(
            f"upload session {row.id} is {row.status}: it takes no more parts",
            "Start a new session (POST /api/uploads) to send the file again.",
        )


async def _record(env: Env, session_id: str, number: int, stored: StoredPart) -> None:
    async with session_scope(env.sessions) as session:
        row = (
            await session.execute(
                select(UploadSession).where(UploadSession.id == session_id).with_for_update()
            )
        ).scalar_one()
        _require_open(row)
        part = await session.get(UploadPart, (session_id, number))
        if part is None:
            session.add(
                UploadPart(
                    session_id=session_id, number=number, size=stored.size, sha256=stored.etag
                )
            )
        else:
            part.size, part.sha256, part.received_at = stored.size, stored.etag, utcnow()

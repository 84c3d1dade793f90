"""A part sent to the service itself (local folder): authorised by its address's signature
alone, as a presigned S3 address is; written at its offset of the session's file while it
arrives, never held whole."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import AsyncIterator

from backend.db import session_scope
from backend.errors import AppError, Conflict, Forbidden, InvalidInput, PayloadTooLarge
from backend.ingestion.resumable import plan, writing
from backend.ingestion.resumable.models import UploadSession
from backend.ingestion.resumable.plan import Env
from backend.ingestion.resumable.schemas import PartOut
from backend.storage.parts import LocalParts, PartSizeWrong, PartTooLate, StoredPart
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
    it). The part is recorded as being written first (backend.ingestion.resumable.writing): a
    write that fails leaves it missing."""
    row = await _open_session(env, session_id, number)
    size = plan.part_bytes(number, row.size_bytes, row.part_size)
    if not plan.verify_part(row.id, number, size, *signed, env.signing_key):
        raise _refused()
    plan.require_open(row)
    wanted = _declared_digest(checksum)
    if not isinstance(env.parts, LocalParts):
        raise Conflict(
            "this service's storage takes parts at their presigned S3 addresses",
            "PUT each part to the url POST /api/uploads/{id}/parts answers.",
        )
    token, deadline = await writing.begin(env, row.id, number, size)
    try:
        async with writing.kept(env, row.id, number, token) as lease:
            body = _timed(_counted(env, chunks), deadline, lease)
            stored = await _write(env, row, number, size, body, deadline)
        if wanted is not None and bytes.fromhex(stored.etag) != wanted:
            raise InvalidInput(
                f"part {number}'s bytes do not match its x-amz-checksum-sha256",
                f"{writing.not_stored(number)}, with the sha256 (base64) of exactly its bytes.",
            )
        await writing.finish(env, row.id, number, token, stored)
    except BaseException:
        await asyncio.shield(writing.forget(env, row.id, number, token))
        raise
    return PartOut(number=number, size=stored.size, etag=stored.etag)


async def _write(
    env: Env,
    row: UploadSession,
    number: int,
    size: int,
    chunks: AsyncIterator[bytes],
    deadline: float,
) -> StoredPart:
    assert isinstance(env.parts, LocalParts)
    offset = (number - 1) * row.part_size
    try:
        return await env.parts.write_part(row.storage_key, offset, size, chunks, deadline)
    except PartSizeWrong as exc:
        raise _wrong_size(number, exc) from exc
    except PartTooLate as exc:
        raise _too_slow(env, number, size) from exc
    except FileNotFoundError as exc:  # aborted or expired meanwhile: its file was removed
        raise Conflict(
            f"upload session {row.id} no longer has a file: it was aborted or it expired",
            "Start a new session (POST /api/uploads) to send the file again.",
        ) from exc


async def _timed(
    chunks: AsyncIterator[bytes], deadline: float, lease: writing.Lease
) -> AsyncIterator[bytes]:
    """The body's chunks until `deadline` (time.time()), PartTooLate after it; each while the
    writer still holds its part's record (409 once it does not)."""
    body = aiter(chunks)
    while True:
        try:
            chunk = await asyncio.wait_for(anext(body), max(deadline - time.time(), 0.0))
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise PartTooLate("the part's time limit passed") from exc
        lease.check()
        yield chunk


class PartTooSlow(AppError):
    status_code = 408
    code = "request_timeout"


def _too_slow(env: Env, number: int, size: int) -> PartTooSlow:
    settings = env.settings
    limit = plan.part_time_limit(settings, size)
    return PartTooSlow(
        f"part {number} arrived too slowly: it may take {limit:.0f} seconds",
        f"{writing.not_stored(number)}: send its body within BODY_READ_TIMEOUT_S "
        f"({settings.body_read_timeout_s:g} s) plus one second per {settings.body_min_kb_per_s} "
        "KiB; on a slow link, use smaller parts or ask an operator to lower BODY_MIN_KB_PER_S.",
    )


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
            f"{writing.not_stored(number)}, exactly {exc.expected} bytes: every part has the "
            "session's part_size bytes but the last, which has the rest.",
        )
    return InvalidInput(
        f"part {number} has {exc.received} bytes; it must have {exc.expected}",
        f"{writing.not_stored(number)}, whole: every part has the session's part_size bytes "
        "but the last, which has the rest.",
    )

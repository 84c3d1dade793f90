"""A session's parts (their size and number), what the service needs to run sessions (`Env`),
and the signatures of the local folder's part addresses."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
import urllib.parse
from dataclasses import dataclass

from backend.config import Settings
from backend.db import SessionMaker
from backend.digits import ascii_count
from backend.errors import Conflict
from backend.ingestion.intake import Intake
from backend.ingestion.resumable.models import SessionStatus, UploadSession
from backend.monitoring.metrics import Registry
from backend.storage.parts import PartTarget

MIB = 1024 * 1024
MAX_PARTS = 10_000  # S3's limit, kept for both stores
PATH = "/api/uploads"


@dataclass(frozen=True)
class Env:
    """What the session service uses of the running service."""

    settings: Settings
    intake: Intake
    parts: PartTarget
    sessions: SessionMaker  # transactions of its own (a session's state, a part received)
    signing_key: bytes
    metrics: Registry | None = None


def part_size_for(size: int, part_mb: int) -> int:
    """UPLOAD_PART_MB, raised to whole MiB so that the file needs at most MAX_PARTS parts."""
    part = part_mb * MIB
    if math.ceil(size / part) > MAX_PARTS:
        part = math.ceil(size / MAX_PARTS / MIB) * MIB
    return part


def largest_part(settings: Settings) -> int:
    """The largest part any session may have: the body limit of the part route."""
    return part_size_for(settings.upload_session_max_mb * MIB, settings.upload_part_mb)


def part_count(size: int, part_size: int) -> int:
    return math.ceil(size / part_size)


def part_bytes(number: int, size: int, part_size: int) -> int:
    """Every part has part_size bytes but the last, which has the rest."""
    count = part_count(size, part_size)
    return part_size if number < count else size - (count - 1) * part_size


def _mac(secret: bytes, session_id: str, number: int, expires: int, size: int) -> str:
    message = f"{session_id}\n{number}\n{expires}\n{size}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_part_url(
    base_url: str, session_id: str, number: int, size: int, secret: bytes, expires: int
) -> str:
    query = urllib.parse.urlencode(
        {"expires": expires, "signature": _mac(secret, session_id, number, expires, size)}
    )
    return f"{base_url.rstrip('/')}{PATH}/{session_id}/parts/{number}?{query}"


def verify_part(
    session_id: str,
    number: int,
    size: int,
    expires: str | None,
    signature: str | None,
    secret: bytes,
) -> bool:
    """The signature is ours for this part and the expiry has not passed (constant time)."""
    moment = ascii_count(expires, max_digits=12)
    if moment is None or not signature or not secret:
        return False
    expected = _mac(secret, session_id, number, moment, size)
    return (
        hmac.compare_digest(expected.encode(), signature.encode()[:128]) and moment >= time.time()
    )


def part_time_limit(settings: Settings, size: int) -> float:
    """How long a part of `size` bytes may take to arrive and be written: BODY_READ_TIMEOUT_S
    plus its size at BODY_MIN_KB_PER_S (the limit every request body has, backend.api.limits)."""
    return settings.body_read_timeout_s + size / (settings.body_min_kb_per_s * 1024)


def require_open(row: UploadSession) -> None:
    """Parts are taken only while the session is open (409 saying what to do otherwise)."""
    if row.status != SessionStatus.OPEN.value:
        raise Conflict(
            f"upload session {row.id} is {row.status}: it takes no more parts",
            "Start a new session (POST /api/uploads) to send the file again."
            if row.status != SessionStatus.COMPLETING.value
            else "It is being completed; GET /api/uploads/{id} names its task once it is done.",
        )

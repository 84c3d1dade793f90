"""The janitor's part of upload sessions: a session still unfinished past its expires_at
(UPLOAD_SESSION_TTL_SECONDS after it was created) is expired and its parts removed (S3: its
multipart upload aborted; local folder: its file)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import ColumnElement, and_, or_, select

from backend.db import SessionMaker, session_scope, utcnow
from backend.ingestion.resumable.models import SessionStatus, UploadSession
from backend.storage.parts import PartTarget

log = logging.getLogger(__name__)
BATCH = 200
ACTIVE = (SessionStatus.OPEN.value, SessionStatus.COMPLETING.value)
# A session being completed is left alone this long (its complete call may still be running).
COMPLETING_GRACE = dt.timedelta(hours=1)


def _unfinished(now: dt.datetime) -> ColumnElement[bool]:
    return or_(
        UploadSession.status == SessionStatus.OPEN.value,
        and_(
            UploadSession.status == SessionStatus.COMPLETING.value,
            UploadSession.updated_at < now - COMPLETING_GRACE,
        ),
    )


async def expire_sessions(sessions: SessionMaker, parts: PartTarget) -> int:
    """Expire the sessions past their expires_at; returns how many. A session whose parts could
    not be removed (the store is down) stays as it is, for the next run."""
    now = utcnow()
    async with session_scope(sessions) as session:
        due = list(
            await session.scalars(
                select(UploadSession)
                .where(UploadSession.expires_at < now, _unfinished(now))
                .order_by(UploadSession.expires_at)
                .limit(BATCH)
            )
        )
    expired = 0
    for row in due:
        await parts.abort(row.storage_key, row.s3_upload_id)
        async with session_scope(sessions) as session:
            current = await session.get(UploadSession, row.id, with_for_update=True)
            if current is not None and current.status in ACTIVE:
                current.status = SessionStatus.EXPIRED.value
                current.updated_at = utcnow()
                expired += 1
    if expired:
        log.info("expired %d unfinished upload session(s) and removed their parts", expired)
    return expired

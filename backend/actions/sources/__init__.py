"""Where an import action takes its files from (an http(s) address, an S3 key or prefix), and
what it has taken before (action_import_seen: one row per file by its key and ETag, so a file
is taken once, whichever process runs the action and however often)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions.models import ActionImportSeen
from backend.db import utcnow

MAX_KEY = 1024
MAX_TAG = 128


class SourceError(Exception):
    """The source cannot be read (or may not be): the run fails with these sentences and the
    next run tries again."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def as_error(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class Incoming:
    """One file to take: `key` names it in action_import_seen (the S3 key or the URL) and `tag`
    is the version taken (its ETag, or what stands for one)."""

    key: str
    tag: str
    size: int | None
    filename: str
    chunks: AsyncIterator[bytes]


def bounded(text: str, limit: int, prefix: str) -> str:
    """`text` when it fits its column, else a digest of it (the same text, the same value)."""
    if len(text) <= limit:
        return text
    return f"{prefix}{hashlib.sha256(text.encode()).hexdigest()}"


def seen_key(source_key: str) -> str:
    return bounded(source_key, MAX_KEY, "sha256:")


def seen_tag(tag: str) -> str:
    return bounded(tag, MAX_TAG, "sha256:")


async def seen_tags(session: AsyncSession, action_id: str) -> set[tuple[str, str]]:
    """(key, tag) of every file the action has taken (or refused for good)."""
    rows = await session.execute(
        sa.select(ActionImportSeen.source_key, ActionImportSeen.etag).where(
            ActionImportSeen.action_id == action_id
        )
    )
    return {(key, tag) for key, tag in rows.all()}


async def latest_seen(
    session: AsyncSession, action_id: str, source_key: str
) -> ActionImportSeen | None:
    """The version of `source_key` taken last."""
    found = await session.scalars(
        sa.select(ActionImportSeen)
        .where(
            ActionImportSeen.action_id == action_id,
            ActionImportSeen.source_key == seen_key(source_key),
        )
        .order_by(ActionImportSeen.seen_at.desc())
        .limit(1)
    )
    return found.first()


async def was_seen(session: AsyncSession, action_id: str, source_key: str, tag: str) -> bool:
    row = await session.get(ActionImportSeen, (action_id, seen_key(source_key), seen_tag(tag)))
    return row is not None


def record_seen(
    session: AsyncSession, action_id: str, incoming: Incoming, task_id: str | None, size: int
) -> None:
    """The file is taken (or refused for good), in the caller's transaction; a second run that
    took the same file at the same time fails its commit on the primary key."""
    session.add(
        ActionImportSeen(
            action_id=action_id,
            source_key=seen_key(incoming.key),
            etag=seen_tag(incoming.tag),
            size=size,
            task_id=task_id,
            seen_at=utcnow(),
        )
    )

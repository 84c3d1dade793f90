"""A person's new notifications as they are recorded, for SSE and the GraphQL subscription.

They are read from the database, so they arrive whichever process wrote them. Between reads a
stream waits for a wake-up from the same place task streams wait (backend.tasks.live.Wakeups,
handed in by the composition root): on PostgreSQL a NOTIFY sent by a trigger on the table, with
the payload `key(user_id)`; elsewhere (SQLite) a short poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import AbstractContextManager
from typing import Protocol

from backend.db import SessionMaker, session_scope
from backend.notifications import service
from backend.notifications.schemas import NotificationOut

POLL_SECONDS = 0.25  # SQLite, or PostgreSQL while its LISTEN connection is down
LISTENING_SECONDS = 5.0  # a read now and then even when NOTIFY is heard
PER_READ = 100


class Waiting(Protocol):
    """Where streams wait for news of a key (backend.tasks.live.Wakeups)."""

    @property
    def listening(self) -> bool: ...

    def watching(self, key: str, /) -> AbstractContextManager[asyncio.Event]: ...


def key(user_id: str) -> str:
    """The NOTIFY payload of a user's new notification (the trigger of migration 0013)."""
    return f"notifications:{user_id}"


async def now(sessions: SessionMaker, user_id: str) -> int:
    """Where a stream "from now on" starts: the user's latest notification id."""
    async with session_scope(sessions) as session:
        return await service.latest_id(session, user_id)


async def stream(
    sessions: SessionMaker,
    waiting: Waiting,
    user_id: str,
    after: int,
    keepalive: float = 15.0,
) -> AsyncGenerator[NotificationOut | None, None]:
    """The user's notifications recorded after id `after` (`now()` for new ones only), oldest
    first, until the caller stops. Yields None when nothing came for `keepalive` seconds."""
    with waiting.watching(key(user_id)) as news:
        quiet = 0.0
        while True:
            news.clear()
            async with session_scope(sessions) as session:
                found = await service.newer(session, user_id, after, PER_READ)
            for row in found:
                after = row.id
                yield NotificationOut.of(row)
            if found:
                quiet = 0.0
                if len(found) == PER_READ:
                    continue  # more are waiting
            waited = LISTENING_SECONDS if waiting.listening else POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), waited)
            quiet += waited
            if quiet >= keepalive:
                quiet = 0.0
                yield None

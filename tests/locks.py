"""Tests of two transactions meeting on PostgreSQL's row locks: waiting until one of them waits."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text

from backend.db import SessionMaker, session_scope

# A wait for a row another transaction holds (not for an advisory lock: the app's workers take
# one on every claim, which would count as the wait a test waits for).
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND wait_event IN ('transactionid', 'tuple') AND datname = current_database()"
)


async def waiting_on_a_lock(sessions: SessionMaker, seconds: float = 10) -> None:
    """Returns once some session of this database waits for a row lock; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        async with session_scope(sessions) as session:
            if await session.scalar(WAITING):
                return
        assert time.monotonic() < deadline, "no transaction waited for another's lock"
        await asyncio.sleep(0.05)

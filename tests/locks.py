"""Tests of two transactions meeting on row locks: one held at a step of its own (`Held`), the
other started, then waited for until it waits (`waiting_on_a_lock`, PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
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


class Held:
    """`name` of `module` replaced, for the test, by a step that pauses (once `inside` is set)
    until the test sets `go`, then does the original: before it, or after it."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str, *, before: bool = True
    ) -> None:
        self.inside, self.go = asyncio.Event(), asyncio.Event()
        original: Callable[..., Awaitable[Any]] = getattr(module, name)

        async def step(*args: Any, **kwargs: Any) -> Any:
            if before:
                await self._pause()
            result = await original(*args, **kwargs)
            if not before:
                await self._pause()
            return result

        monkeypatch.setattr(module, name, step)

    async def _pause(self) -> None:
        self.inside.set()
        await self.go.wait()

    async def reached(self, seconds: float = 10) -> None:
        await asyncio.wait_for(self.inside.wait(), seconds)

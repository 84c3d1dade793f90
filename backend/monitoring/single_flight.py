"""One probe in flight at a time, its result kept briefly: health called often (a load balancer,
a dashboard left open, a caller in a loop) never piles probes onto a stalled dependency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._running: asyncio.Task[T] | None = None
        self._last: tuple[float, T] | None = None

    async def run(self, probe: Callable[[], Awaitable[T]]) -> T:
        """The last result when it is recent, else the probe's (joining one already running)."""
        if self._last is not None and time.monotonic() - self._last[0] < self.keep_seconds:
            return self._last[1]
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._probe(probe))
        # Shielded: a caller that gives up does not cancel the probe others are waiting for.
        return await asyncio.shield(self._running)

    async def _probe(self, probe: Callable[[], Awaitable[T]]) -> T:
        result = await probe()
        self._last = (time.monotonic(), result)
        return result

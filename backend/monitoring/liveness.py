"""Liveness that means something: the event loop turns on time, and the thread pools that every
route needs (the loop's default one, the files pool) run a call within a bound. A stalled
dependency once held every default thread while /healthz kept saying 200."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from backend import threads

LAG_INTERVAL_SECONDS = 0.25


class LoopLag:
    """Measures, every LAG_INTERVAL_SECONDS, how late the loop woke a sleeping task."""

    def __init__(self) -> None:
        self.lag_seconds = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._measure(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _measure(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(LAG_INTERVAL_SECONDS)
            self.lag_seconds = max(0.0, time.monotonic() - started - LAG_INTERVAL_SECONDS)


@dataclass
class Liveness:
    alive: bool
    reason: str | None = None


def _nothing() -> None:
    return None


async def check(lag: LoopLag | None, bound: float) -> Liveness:
    """Alive when the loop's last measured lag is under `bound` and a call on the default pool
    and on the files pool starts within `bound` (a saturated pool queues it)."""
    if lag is not None and lag.lag_seconds > bound:
        return Liveness(False, f"the event loop runs {lag.lag_seconds:.1f} s late")
    loop = asyncio.get_running_loop()
    pools: dict[str, Callable[[], Awaitable[None]]] = {
        "the default thread pool": lambda: loop.run_in_executor(None, _nothing),
        "the files thread pool": lambda: threads.FILES.run(_nothing),
    }
    for name, call in pools.items():
        try:
            await asyncio.wait_for(call(), bound)
        except TimeoutError:
            return Liveness(False, f"{name} is saturated: no thread free within {bound:.0f} s")
    return Liveness(True)

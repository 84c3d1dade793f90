"""Abuse limits per principal (anonymous callers: per client address), kept in this process's
memory with the `limits` library: requests per minute (a moving window) and uploads in flight.
Several processes each count their own share (documented)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from backend.errors import AppError


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, detail: str, retry_after: int) -> None:
        super().__init__(message, detail)
        self.retry_after = max(1, retry_after)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Limits:
    # Failed password checks per minute per name (SIGN_IN_ATTEMPTS_PER_NAME; a right password
    # clears them) and sign-in attempts per client address (SIGN_IN_ATTEMPTS_PER_ADDRESS),
    # whatever RATE_LIMIT_PER_MINUTE says: guessing passwords is slowed down for one person and
    # from one place, and signing in often never locks anyone out.
    SIGN_IN_PER_NAME = 5
    SIGN_IN_PER_ADDRESS = 20

    def __init__(
        self,
        per_minute: int,
        uploads_in_flight: int,
        sign_in_per_name: int = SIGN_IN_PER_NAME,
        sign_in_per_address: int = SIGN_IN_PER_ADDRESS,
    ) -> None:
        self.per_minute = per_minute
        self._sign_in_name = RateLimitItemPerMinute(sign_in_per_name)
        self._sign_in_address = RateLimitItemPerMinute(sign_in_per_address)
        self.uploads_in_flight = uploads_in_flight
        self._window = RateLimitItemPerMinute(per_minute) if per_minute else None
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._uploads: dict[str, int] = defaultdict(int)
        self._lock = asyncio.Lock()

    async def request(self, who: str) -> None:
        """Count one request of `who`; refuse past REQUESTS_PER_MINUTE."""
        if self._window is None:
            return
        if await self._limiter.hit(self._window, who):
            return
        stats = await self._limiter.get_window_stats(self._window, who)
        raise TooManyRequests(
            f"more than {self.per_minute} requests in a minute",
            "Slow down; the Retry-After header says when to try again.",
            math.ceil(stats.reset_time - time.time()),
        )

    async def sign_in(self, name: str, address: str) -> None:
        """Count one sign-in attempt for `name` and from `address`; refuse past either limit."""
        await self._attempt(self._sign_in_address, f"sign-in-address@{address}")
        await self.password_check(name)

    async def password_check(self, name: str) -> None:
        """Count one check of `name`'s password (signing in, or the current password of a
        password change: one count for both); refuse past SIGN_IN_ATTEMPTS_PER_NAME."""
        await self._attempt(self._sign_in_name, f"sign-in-name@{name[:64]}")

    async def password_right(self, name: str) -> None:
        """`name`'s password was right: the failed checks counted so far are forgotten (only
        failed checks lock a name out)."""
        await self._limiter.clear(self._sign_in_name, f"sign-in-name@{name[:64]}")

    async def _attempt(self, item: RateLimitItemPerMinute, key: str) -> None:
        if not await self._limiter.hit(item, key):
            stats = await self._limiter.get_window_stats(item, key)
            raise TooManyRequests(
                "too many sign-in attempts",
                "Wait a minute before you try again; the Retry-After header says when.",
                math.ceil(stats.reset_time - time.time()),
            )

    @contextlib.asynccontextmanager
    async def upload(self, who: str) -> AsyncIterator[None]:
        """Hold one of `who`'s upload slots while an upload streams in."""
        async with self._lock:
            if self.uploads_in_flight and self._uploads[who] >= self.uploads_in_flight:
                raise TooManyRequests(
                    f"already {self.uploads_in_flight} uploads in progress",
                    "Wait until one of them is received, then send the next.",
                    5,
                )
            self._uploads[who] += 1
        try:
            yield
        finally:
            async with self._lock:
                self._uploads[who] -= 1
                if not self._uploads[who]:
                    del self._uploads[who]

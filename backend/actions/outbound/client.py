"""The one HTTP client actions use to reach the outside: http(s) only, every address checked
(redirects too), time-outs and a size limit on every answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from backend.actions.outbound.guard import DestinationRefused

__all__ = [
    "Answer",
    "DestinationRefused",
    "Download",
    "OutboundClient",
    "OutboundFailed",
    "TooLarge",
    "describe_target",
]


class OutboundFailed(Exception):
    """The call did not get an answer (connection error, time-out, bad URL)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class TooLarge(Exception):
    """The answer is over the size limit the caller gave."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    head: bytes
    latency_ms: float
    url: str


class Download:
    """An answer whose body is read in chunks (at most max_bytes in all)."""

    status: int
    headers: dict[str, str]
    url: str

    async def chunks(self) -> AsyncIterator[bytes]:
        raise NotImplementedError
        yield b""


def describe_target(url: str) -> str:
    """scheme://host[:port] of a URL: what logs and delivery rows may show."""
    raise NotImplementedError


class OutboundClient:
    def __init__(
        self, allowed: Sequence[str], *, timeout_seconds: float, max_redirects: int
    ) -> None:
        raise NotImplementedError

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes = b"",
        max_bytes: int = 1024,
    ) -> Answer:
        raise NotImplementedError

    def download(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int
    ) -> AbstractAsyncContextManager[Download]:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

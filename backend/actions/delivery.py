"""Webhook deliveries: Standard Webhooks signatures, what an answer means, and when to retry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.actions.outbound.client import OutboundClient


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    latency_ms: float | None
    head: str
    error: str | None
    refused: bool
    retryable: bool
    ok: bool
    retry_after: float | None
    target: str


def new_secret() -> str:
    """A fresh signing secret: "whsec_" and the base64 of 32 random bytes."""
    raise NotImplementedError


async def post_event(
    client: OutboundClient, url: str, secret: str, message_id: str, body: dict[str, Any]
) -> Attempt:
    """POST `body` as JSON, signed with a fresh timestamp and the given message id."""
    raise NotImplementedError


def backoff(deliveries: int, base: float, cap: float, retry_after: float | None) -> float:
    """Seconds to wait before the next delivery (exponential, equal jitter, capped)."""
    raise NotImplementedError

"""Webhook deliveries: signed as the Standard Webhooks specification says (by its reference
library), what an answer means, and how long to wait before the next try.

Each attempt is signed again with a fresh `webhook-timestamp` (receivers refuse one older than
five minutes) and the same `webhook-id`, so a receiver can tell a retry from a new event."""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from math import floor
from typing import Any

import standardwebhooks

from backend.actions.outbound.client import (
    DestinationRefused,
    OutboundClient,
    OutboundFailed,
    describe_target,
)
from backend.redaction import scrub

USER_AGENT = "sales-ingest-webhooks/1"
HEAD_BYTES = 1024
_RETRYABLE = frozenset({408, 429})


@dataclass(frozen=True)
class Attempt:
    """One try at a destination (a webhook's URL or the mail server). Only what differs from a
    failure that got no answer needs naming."""

    target: str  # scheme://host[:port]
    ok: bool = False  # 2xx (mail: every address took it)
    status_code: int | None = None
    latency_ms: float | None = None
    head: str = ""  # the first 1 KB of the answer, scrubbed
    error: str | None = None  # a sentence
    refused: bool = False
    retryable: bool = False
    retry_after: float | None = None  # seconds, as the receiver asked (the caller caps it)


def new_secret() -> str:
    """A fresh signing secret: "whsec_" and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, message_id: str, payload: bytes, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt; ValueError when the secret is not one."""
    try:
        webhook = standardwebhooks.Webhook(secret)
    except (ValueError, RuntimeError, standardwebhooks.webhooks.EmptyWebhookSecretError):
        raise ValueError("The webhook secret is not a whsec_ secret; rotate it.") from None
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(now.timestamp())),
        "webhook-signature": webhook.sign(message_id, now, payload),
    }


async def post_event(
    client: OutboundClient, url: str, secret: str, message_id: str, body: dict[str, Any]
) -> Attempt:
    """POST `body` as JSON, signed with a fresh timestamp and the given message id."""
    target = describe_target(url)
    payload = json.dumps(body, separators=(",", ":"), default=str).encode()
    try:
        signed = sign(secret, message_id, payload, datetime.now(UTC))
    except ValueError as exc:
        return Attempt(target, error=str(exc))
    headers = {
        **signed,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    try:
        answer = await client.send("POST", url, headers=headers, content=payload)
    except DestinationRefused as exc:
        return Attempt(target, error=exc.reason, refused=True)
    except OutboundFailed as exc:
        return Attempt(target, error=exc.reason, retryable=exc.retryable)
    ok = 200 <= answer.status < 300
    retryable = answer.status in _RETRYABLE or answer.status >= 500
    return Attempt(
        target,
        ok=ok,
        status_code=answer.status,
        latency_ms=answer.latency_ms,
        head=_head(answer.head),
        error=None if ok else _status_words(target, answer.status, retryable),
        retryable=retryable,
        retry_after=retry_after(answer.headers.get("retry-after")) if retryable else None,
    )


def _head(raw: bytes) -> str:
    """The first kilobyte of an answer as text, scrubbed, and no longer than the column keeps
    (scrubbing may lengthen it)."""
    return scrub(raw[:HEAD_BYTES].decode("utf-8", errors="replace"))[:HEAD_BYTES]


def _status_words(target: str, status: int, retryable: bool) -> str:
    if retryable:
        return f"{target} answered {status}; the delivery will be tried again."
    return (
        f"{target} answered {status}; the delivery is not tried again: check the URL and "
        "the receiver, then send it again."
    )


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (a number of seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff(
    deliveries: int, base: float, cap: float, retry_after: float | None, spread_key: str = ""
) -> float:
    """Seconds to wait after the `deliveries`-th delivery: the receiver's Retry-After when it
    gave one, else exponential with equal jitter; never more than `cap`. The jitter is drawn
    from a hash of (`spread_key`, `deliveries`), the run's id: runs that failed together
    spread apart, and the same run at the same delivery always waits the same."""
    if retry_after is not None:
        return min(cap, max(0.0, retry_after))
    exponent = max(0, deliveries - 1)
    step = cap if exponent >= 64 else min(cap, base * 2**exponent)
    return step * (0.5 + 0.5 * _spread(f"{spread_key}:{deliveries}"))


def _spread(key: str) -> float:
    """A fraction in [0, 1) fixed by `key`, evenly spread over keys."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64

"""Webhook deliveries against a real receiver on 127.0.0.1 that verifies every request with the
Standard Webhooks reference library, as a receiver in production would."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import standardwebhooks

from backend.actions.delivery import Attempt, backoff, new_secret, post_event, retry_after
from backend.actions.outbound.client import OutboundClient
from tests.actions.outbound.receiver import Receiver, Reply, Script, Seen, receiving

EVENT = {"type": "task.failed", "timestamp": "2026-12-05T07:00:00Z", "data": {"task_id": "t1"}}


class Verifying:
    """A script that verifies each request's signature before answering as `reply` says."""

    def __init__(self, secret: str, reply: Script) -> None:
        self.secret = secret
        self.reply = reply
        self.verified: list[object] = []
        self.rejected: list[str] = []

    def __call__(self, seen: Seen) -> Reply:
        try:
            self.verified.append(
                standardwebhooks.Webhook(self.secret).verify(seen.body, seen.headers)
            )
        except standardwebhooks.WebhookVerificationError as exc:
            self.rejected.append(str(exc))
            return Reply(401, body=b"bad signature")
        return self.reply(seen)


@pytest.fixture
async def client() -> AsyncIterator[OutboundClient]:
    made = OutboundClient(["127.0.0.1"], timeout_seconds=0.5, max_redirects=2)
    yield made
    await made.aclose()


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


async def test_every_attempt_is_signed_afresh_with_the_same_message_id(
    client: OutboundClient,
) -> None:
    secret = new_secret()
    receiver = Verifying(secret, lambda _seen: Reply(204))
    with receiving(receiver) as server:
        first = await post_event(client, server.url("/hooks"), secret, "msg_run1", EVENT)
        await asyncio.sleep(1.0)  # the timestamp counts whole seconds
        second = await post_event(client, server.url("/hooks"), secret, "msg_run1", EVENT)
    assert receiver.rejected == []
    assert receiver.verified == [EVENT, EVENT]
    assert first.ok and second.ok and first.status_code == 204
    ids = [hit.headers["webhook-id"] for hit in server.hits]
    stamps = [int(hit.headers["webhook-timestamp"]) for hit in server.hits]
    assert ids == ["msg_run1", "msg_run1"]
    assert stamps[1] > stamps[0]
    now = datetime.now(UTC).timestamp()
    assert all(abs(now - stamp) < 10 for stamp in stamps)
    hit = server.hits[0]
    assert hit.method == "POST" and hit.path == "/hooks"
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["user-agent"] == "sales-ingest-webhooks/1"


async def test_a_receiver_with_another_secret_rejects_the_delivery(client: OutboundClient) -> None:
    receiver = Verifying(new_secret(), lambda _seen: Reply(200))
    with receiving(receiver) as server:
        attempt = await post_event(client, server.url(), new_secret(), "msg_x", EVENT)
    assert receiver.rejected == ["No matching signature found"]
    assert (attempt.status_code, attempt.ok, attempt.retryable) == (401, False, False)


async def deliver(client: OutboundClient, reply: Reply) -> tuple[Attempt, Receiver]:
    secret = new_secret()
    receiver = Verifying(secret, lambda _seen: reply)
    with receiving(receiver) as server:
        attempt = await post_event(client, server.url("/in"), secret, "msg_1", EVENT)
    assert receiver.rejected == [] and len(receiver.verified) == len(server.hits) == 1
    return attempt, server


@pytest.mark.parametrize(
    ("status", "ok", "retryable"),
    [(200, True, False), (500, False, True), (503, False, True), (429, False, True),
     (408, False, True), (404, False, False), (410, False, False)],
)  # fmt: skip
async def test_answers_are_classified(
    client: OutboundClient, status: int, ok: bool, retryable: bool
) -> None:
    attempt, server = await deliver(client, Reply(status, body=b"answer"))
    assert (attempt.status_code, attempt.ok, attempt.retryable) == (status, ok, retryable)
    assert attempt.refused is False and attempt.head == "answer"
    assert attempt.target == f"http://127.0.0.1:{server.port}"
    assert attempt.latency_ms is not None and attempt.latency_ms > 0
    if ok:
        assert attempt.error is None
    elif retryable:
        assert attempt.error == (
            f"http://127.0.0.1:{server.port} answered {status}; the delivery will be tried again."
        )
    else:
        assert attempt.error is not None and "is not tried again" in attempt.error


async def test_retry_after_is_read_in_seconds_or_as_a_date(client: OutboundClient) -> None:
    in_seconds, _ = await deliver(client, Reply(429, {"Retry-After": "120"}))
    assert in_seconds.retry_after == 120.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    as_date, _ = await deliver(client, Reply(503, {"Retry-After": later}))
    assert as_date.retry_after is not None and 80 <= as_date.retry_after <= 90
    ignored, _ = await deliver(client, Reply(404, {"Retry-After": "120"}))
    assert ignored.retry_after is None
    assert retry_after("soon") is None and retry_after(None) is None


async def test_the_answer_kept_is_one_kilobyte_scrubbed(client: OutboundClient) -> None:
    body = b"failed for https://hooks.example/x?token=abc123 " + b"\xff" + b"z" * 3000
    attempt, _ = await deliver(client, Reply(500, body=body))
    assert "abc123" not in attempt.head and "token=REDACTED" in attempt.head
    assert "\ufffd" in attempt.head
    assert len(attempt.head) <= 1024


async def test_a_refused_destination_is_not_retried_and_the_receiver_gets_nothing() -> None:
    closed = OutboundClient([], timeout_seconds=0.5, max_redirects=2)
    secret = new_secret()
    try:
        with receiving(Verifying(secret, lambda _seen: Reply(200))) as server:
            attempt = await post_event(closed, server.url(), secret, "msg_1", EVENT)
    finally:
        await closed.aclose()
    assert server.hits == []
    assert (attempt.refused, attempt.retryable, attempt.ok, attempt.status_code) == (
        True,
        False,
        False,
        None,
    )
    assert attempt.error is not None and attempt.error.startswith("127.0.0.1 is a loopback")


async def test_a_receiver_that_never_answers_is_a_retryable_time_out(
    client: OutboundClient,
) -> None:
    secret = new_secret()
    with receiving(Verifying(secret, lambda _seen: Reply(hang=True))) as server:
        attempt = await post_event(client, server.url(), secret, "msg_1", EVENT)
    assert (attempt.retryable, attempt.ok, attempt.status_code) == (True, False, None)
    assert attempt.error is not None and "did not answer within 0.5 seconds" in attempt.error


async def test_a_bad_secret_fails_at_once_without_a_call(client: OutboundClient) -> None:
    with receiving(lambda _seen: Reply(200)) as server:
        attempt = await post_event(client, server.url(), "whsec_", "msg_1", EVENT)
    assert server.hits == []
    assert (attempt.retryable, attempt.refused) == (False, False)
    assert attempt.error == "The webhook secret is not a whsec_ secret; rotate it."


def test_backoff_doubles_with_equal_jitter_and_stays_under_the_cap() -> None:
    for deliveries, step in [(1, 10.0), (2, 20.0), (3, 40.0), (9, 2560.0), (10, 3600.0)]:
        waits = [backoff(deliveries, 10.0, 3600.0, None, f"run-{n}") for n in range(200)]
        assert all(step / 2 <= wait <= step for wait in waits), deliveries
        # runs that failed together spread over the whole half-step, not a few points of it
        assert len({round(wait, 6) for wait in waits}) > 190
        assert min(waits) < step * 0.55 and max(waits) > step * 0.95
    assert backoff(500, 10.0, 3600.0, None, "run-1") <= 3600.0


def test_backoff_is_the_same_for_the_same_run_and_delivery() -> None:
    assert backoff(3, 10.0, 3600.0, None, "run-7") == backoff(3, 10.0, 3600.0, None, "run-7")
    assert backoff(3, 10.0, 3600.0, None, "run-7") != backoff(4, 10.0, 3600.0, None, "run-7") / 2


def test_backoff_honours_retry_after_up_to_the_cap() -> None:
    assert backoff(1, 10.0, 3600.0, 120.0) == 120.0
    assert backoff(1, 10.0, 3600.0, 86_400.0) == 3600.0
    assert backoff(1, 10.0, 3600.0, -5.0) == 0.0

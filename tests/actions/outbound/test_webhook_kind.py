"""The webhook kind's executor against a real receiver on 127.0.0.1 that verifies every request
with the Standard Webhooks reference library. The run context is built by hand: the executor
uses only the outbound client of the services it is given."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import standardwebhooks

from backend.actions.delivery import new_secret
from backend.actions.kinds import ActionView, Outcome, RunContext, RunView, Services
from backend.actions.kinds.webhook import execute
from backend.actions.outbound.client import OutboundClient
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.config import Settings
from tests.actions.outbound.receiver import Reply, Seen, always, receiving

CREATED = dt.datetime(2026, 12, 5, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
async def outbound() -> AsyncIterator[OutboundClient]:
    made = OutboundClient(["127.0.0.1"], timeout_seconds=0.5, max_redirects=2)
    yield made
    await made.aclose()


def context(
    outbound: OutboundClient,
    url: str,
    secret: str | None,
    run_input: dict[str, Any] | None,
    public_url: str | None = None,
) -> RunContext:
    action = ActionView(
        id="a1", name="Tell the shop", kind="webhook", params={"url": url}, secret=secret,
        owner_user="u1", owner_id="user:u1", owner_name="ada",
    )  # fmt: skip
    run = RunView(
        id="r1", trigger="event" if run_input else "manual", trigger_key="manual:x",
        scheduled_for=None, input=run_input, attempts=1, deliveries=0, output={},
        created_at=CREATED,
    )  # fmt: skip
    # Only the outbound client and PUBLIC_URL are used by this kind; nothing else is touched.
    settings = Settings(public_url=public_url) if public_url else Settings()
    services = cast(Services, type("Only", (), {"outbound": outbound, "settings": settings})())
    owner = Principal(id="user:u1", name="ada", role=Role.UPLOADER, kind="session", user="u1")

    async def checkpoint(_session: Any, _values: dict[str, Any]) -> None:
        raise AssertionError("a webhook has nothing to checkpoint")

    return RunContext(action, run, owner, services, checkpoint, CREATED)


class Verifying:
    def __init__(self, secret: str, replies: list[Reply]) -> None:
        self.secret = secret
        self.replies = replies
        self.bodies: list[Any] = []

    def __call__(self, seen: Seen) -> Reply:
        self.bodies.append(standardwebhooks.Webhook(self.secret).verify(seen.body, seen.headers))
        return self.replies[min(len(self.bodies), len(self.replies)) - 1]


async def test_an_event_is_delivered_signed_and_typed_by_the_event(
    outbound: OutboundClient,
) -> None:
    secret = new_secret()
    receiver = Verifying(secret, [Reply(500), Reply(200, body=b"ok")])
    event = {"event": "task.failed", "task_id": "t9", "error": {"code": "invalid_rows"}}
    with receiving(receiver) as server:
        first = await execute(context(outbound, server.url("/in"), secret, event))
        second = await execute(context(outbound, server.url("/in"), secret, event))
    expected = {
        "type": "task.failed",
        "timestamp": "2026-12-05T07:00:00+00:00",
        "data": {"task_id": "t9", "error": {"code": "invalid_rows"}},
    }
    assert receiver.bodies == [expected, expected]
    assert [hit.headers["webhook-id"] for hit in server.hits] == ["msg_r1", "msg_r1"]
    assert (first.status, first.output["http_status"]) == ("retry", 500)
    assert first.error is not None and first.error["code"] == "delivery_failed"
    assert (second.status, second.output["http_status"], second.error) == ("succeeded", 200, None)
    assert [attempt.head for attempt in first.attempts + second.attempts] == ["", "ok"]


async def test_an_events_report_link_is_absolute_under_the_public_url(
    outbound: OutboundClient,
) -> None:
    """A receiver cannot follow a path of ours: with PUBLIC_URL set, the link is whole."""
    secret = new_secret()
    receiver = Verifying(secret, [Reply(200)])
    event = {"event": "task.failed", "task_id": "t9", "report_url": "/api/ingest/status/t9"}
    with receiving(receiver) as server:
        await execute(
            context(outbound, server.url(), secret, event, public_url="https://sales.example.com/")
        )
    assert receiver.bodies[0]["data"]["report_url"] == (
        "https://sales.example.com/api/ingest/status/t9"
    )


async def test_a_manual_run_says_which_action_and_run_it_is(outbound: OutboundClient) -> None:
    secret = new_secret()
    receiver = Verifying(secret, [Reply(204)])
    with receiving(receiver) as server:
        outcome = await execute(context(outbound, server.url(), secret, None))
    assert outcome.status == "succeeded"
    assert receiver.bodies == [
        {
            "type": "action.manual",
            "timestamp": "2026-12-05T07:00:00+00:00",
            "data": {
                "action": {"id": "a1", "name": "Tell the shop"},
                "run": {"id": "r1", "trigger": "manual", "scheduled_for": None},
            },
        }
    ]


async def test_a_refused_destination_fails_the_run_at_once_and_sends_nothing() -> None:
    closed = OutboundClient([], timeout_seconds=0.5, max_redirects=2)
    try:
        with receiving(always(Reply(200))) as server:
            outcome = await execute(context(closed, server.url(), new_secret(), None))
    finally:
        await closed.aclose()
    assert server.hits == []
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error["code"] == "refused"
    assert outcome.error["message"].startswith("127.0.0.1 is a loopback address;")
    assert [attempt.refused for attempt in outcome.attempts] == [True]


@pytest.mark.parametrize(("status", "ends"), [(404, "failed"), (429, "retry"), (502, "retry")])
async def test_the_answer_decides_whether_the_run_is_retried(
    outbound: OutboundClient, status: int, ends: str
) -> None:
    secret = new_secret()
    with receiving(Verifying(secret, [Reply(status, {"Retry-After": "30"})])) as server:
        outcome: Outcome = await execute(context(outbound, server.url(), secret, None))
    assert outcome.status == ends
    assert outcome.retry_after == (30.0 if ends == "retry" else None)


async def test_a_webhook_without_a_secret_fails_with_what_to_do(outbound: OutboundClient) -> None:
    with receiving(always(Reply(200))) as server:
        outcome = await execute(context(outbound, server.url(), None, None))
    assert server.hits == []
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["hint"] == "Set its url, or rotate its secret, then run it again."

"""Webhooks through the workers, to a real receiver on 127.0.0.1 that verifies every request
with the Standard Webhooks reference library: retried until it answers, given up when it never
does, and refused (nothing sent) where ACTIONS_ALLOWED_HOSTS does not name it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import standardwebhooks
from sqlalchemy import select

from backend.actions import service
from backend.actions.models import ActionDelivery, ActionRun
from backend.auth.roles import Role
from backend.db import session_scope
from backend.runtime import Runtime
from tests.actions.core.conftest import create, fast_settings, person, started, webhook_in
from tests.actions.outbound.receiver import Reply, Seen, always, receiving
from tests.conftest import Backend


class Verifying:
    def __init__(self, replies: list[Reply]) -> None:
        self.secret = ""
        self.replies = replies
        self.bodies: list[Any] = []

    def __call__(self, seen: Seen) -> Reply:
        self.bodies.append(standardwebhooks.Webhook(self.secret).verify(seen.body, seen.headers))
        return self.replies[min(len(self.bodies), len(self.replies)) - 1]


@pytest.fixture
async def allowed(backend: Backend) -> AsyncIterator[Runtime]:
    settings = fast_settings(
        backend, actions_allowed_hosts=["127.0.0.1"], actions_http_timeout_seconds=0.5
    )
    running = await started(settings, workers=True)
    try:
        yield running
    finally:
        await running.stop()


async def run_to(
    runtime: Runtime, url: str, receiver: Verifying | None = None
) -> tuple[str, str | None]:
    """A webhook to `url`, run now (the receiver learns its secret before the first call)."""
    owner = await person(runtime, Role.UPLOADER)
    action, secret = await create(runtime, owner, webhook_in(params={"url": url}))
    if receiver is not None and secret is not None:
        receiver.secret = secret
    async with session_scope(runtime.sessions) as session:
        run = await service.execute(session, owner, action.id)
    runtime.wake_workers()
    return run.id, secret


async def ended(runtime: Runtime, run_id: str) -> tuple[ActionRun, list[ActionDelivery]]:
    deadline = time.monotonic() + 30
    while True:
        async with session_scope(runtime.sessions) as session:
            run = await session.get(ActionRun, run_id)
            rows = list(
                await session.scalars(
                    select(ActionDelivery)
                    .where(ActionDelivery.run_id == run_id)
                    .order_by(ActionDelivery.attempt)
                )
            )
        assert run is not None
        if run.status in ("succeeded", "failed"):
            return run, rows
        assert time.monotonic() < deadline, f"the run is still {run.status}"
        await asyncio.sleep(0.05)


async def test_a_receiver_answering_500_twice_then_200_gets_the_event_three_times(
    allowed: Runtime,
) -> None:
    receiver = Verifying([Reply(500, body=b"down"), Reply(500), Reply(200, body=b"thanks")])
    with receiving(receiver) as server:
        run_id, _ = await run_to(allowed, server.url("/hooks"), receiver)
        run, rows = await ended(allowed, run_id)

    assert run.status == "succeeded" and run.deliveries == 3
    assert len(receiver.bodies) == 3 and receiver.bodies[0] == receiver.bodies[2]
    assert receiver.bodies[0]["type"] == "action.manual"
    assert {hit.headers["webhook-id"] for hit in server.hits} == {f"msg_{run_id}"}
    assert [(r.attempt, r.status_code) for r in rows] == [(1, 500), (2, 500), (3, 200)]
    assert rows[0].response_head == "down" and rows[2].response_head == "thanks"
    assert rows[0].target == f"http://127.0.0.1:{server.port}"  # the host only, never the path


async def test_a_receiver_that_never_answers_fails_the_run_after_the_deliveries(
    allowed: Runtime,
) -> None:
    with receiving(always(Reply(hang=True))) as server:
        run_id, _ = await run_to(allowed, server.url("/slow"))
        run, rows = await ended(allowed, run_id)

    assert run.status == "failed" and run.deliveries == 3  # ACTIONS_MAX_DELIVERIES
    assert len(server.hits) == 3
    assert [r.attempt for r in rows] == [1, 2, 3]
    assert all(r.status_code is None and r.error for r in rows)
    assert run.error is not None and "ACTIONS_MAX_DELIVERIES" in run.error["hint"]


async def test_a_receiver_the_allow_list_does_not_name_gets_nothing(backend: Backend) -> None:
    runtime = await started(fast_settings(backend), workers=True)
    try:
        with receiving(always(Reply(200))) as server:
            run_id, _ = await run_to(runtime, server.url("/in"))
            run, rows = await ended(runtime, run_id)
    finally:
        await runtime.stop()

    assert server.hits == []
    assert run.status == "failed" and run.deliveries == 1
    assert run.error is not None and run.error["code"] == "refused"
    assert [(r.refused, r.status_code) for r in rows] == [(True, None)]

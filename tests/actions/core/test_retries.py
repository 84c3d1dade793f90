"""A run's deliveries: each attempt logged, a retry waits its backoff outside the lease, and a
run ends failed once its deliveries or its window are used up; failures before or inside a
kind's executor end the run with a sentence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from backend.actions import service
from backend.actions.delivery import Attempt
from backend.actions.kinds import Outcome, RunContext, registry
from backend.actions.models import Action, ActionDelivery, ActionRun
from backend.actions.runs import claim_next_run
from backend.actions.secrets import Cipher
from backend.actions.worker import ActionRuns, RunJob
from backend.auth.models import User
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.runtime import Runtime
from tests.actions.core.conftest import create, fast_settings, person, started, webhook_in
from tests.conftest import Backend

TARGET = "https://example.com:443"


def answered(status: int, *, retry_after: float | None = None) -> Attempt:
    ok = 200 <= status < 300
    return Attempt(
        status_code=status,
        latency_ms=3.0,
        head="ok" if ok else "busy",
        error=None if ok else f"The receiver answered HTTP {status}.",
        refused=False,
        retryable=not ok,
        ok=ok,
        retry_after=retry_after,
        target=TARGET,
    )


class Script:
    """An executor that answers as scripted and remembers when it was called."""

    def __init__(self, *outcomes: Outcome) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[float, int]] = []

    async def __call__(self, ctx: RunContext) -> Outcome:
        self.calls.append((time.monotonic(), ctx.run.deliveries))
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


def retry(status: int = 503, *, retry_after: float | None = None) -> Outcome:
    return Outcome("retry", attempts=[answered(status, retry_after=retry_after)])


@pytest.fixture
async def with_workers(backend: Backend) -> AsyncIterator[Runtime]:
    running = await started(fast_settings(backend), workers=True)
    try:
        yield running
    finally:
        await running.stop()


async def executed(runtime: Runtime, kind_script: Script, registered: list[str]) -> str:
    registry.register("webhook", kind_script)
    registered.append("webhook")
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    async with session_scope(runtime.sessions) as session:
        run = await service.execute(session, owner, action.id)
    runtime.wake_workers()
    return run.id


async def ended(runtime: Runtime, run_id: str, timeout: float = 30) -> ActionRun:
    deadline = time.monotonic() + timeout
    while True:
        async with session_scope(runtime.sessions) as session:
            run = await session.get(ActionRun, run_id)
        assert run is not None
        if run.status in ("succeeded", "failed"):
            return run
        assert time.monotonic() < deadline, f"run still {run.status}"
        await asyncio.sleep(0.05)


async def drive(runtime: Runtime, run_id: str) -> ActionRun:
    """Claims and runs the run until it ends, as a worker slot would (no pool)."""
    assert runtime.action_services is not None and runtime.cipher is not None
    source = ActionRuns(runtime.action_services, runtime.cipher)
    for _ in range(100):
        async with session_scope(runtime.sessions) as session:
            claimed = await claim_next_run(session, "slot", 30)
        if claimed is not None:
            await RunJob(source, claimed, "slot").run()
        async with session_scope(runtime.sessions) as session:
            run = await session.get(ActionRun, run_id)
        assert run is not None
        if run.status in ("succeeded", "failed"):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError("the run did not end")


async def deliveries(runtime: Runtime, run_id: str) -> list[ActionDelivery]:
    async with session_scope(runtime.sessions) as session:
        rows = await session.scalars(
            select(ActionDelivery)
            .where(ActionDelivery.run_id == run_id)
            .order_by(ActionDelivery.id)
        )
        return list(rows)


async def test_a_retried_delivery_waits_then_succeeds_with_each_attempt_logged(
    with_workers: Runtime, registered: list[str]
) -> None:
    script = Script(
        retry(503, retry_after=0.4),
        Outcome("succeeded", output={"http_status": 200}, attempts=[answered(200)]),
    )

    run = await ended(with_workers, await executed(with_workers, script, registered))

    assert run.status == "succeeded" and run.error is None
    assert (run.deliveries, run.attempts) == (2, 1)  # a retry is not a worker that died
    assert run.output == {"http_status": 200}
    (first, _), (second, seen) = script.calls
    assert second - first >= 0.4  # the receiver's Retry-After, waited outside the lease
    assert seen == 1
    rows = await deliveries(with_workers, run.id)
    assert [(r.attempt, r.status_code, r.channel, r.target) for r in rows] == [
        (1, 503, "http", TARGET),
        (2, 200, "http", TARGET),
    ]
    assert rows[0].error == "The receiver answered HTTP 503." and rows[0].response_head == "busy"


async def test_a_run_fails_once_its_deliveries_are_used_up_and_can_be_sent_again(
    runtime: Runtime, registered: list[str]
) -> None:
    script = Script(retry(500))
    run_id = await executed(runtime, script, registered)

    run = await drive(runtime, run_id)

    assert run.status == "failed" and run.deliveries == 3  # ACTIONS_MAX_DELIVERIES
    assert run.error is not None and run.error["message"] == "The receiver answered HTTP 500."
    assert "ACTIONS_MAX_DELIVERIES" in run.error["hint"]
    assert [r.attempt for r in await deliveries(runtime, run_id)] == [1, 2, 3]

    script.outcomes = [Outcome("succeeded", attempts=[answered(204)])]
    owner_id = await _owner_of(runtime, run_id)
    admin = await person(runtime, Role.ADMIN)
    async with session_scope(runtime.sessions) as session:
        again = await service.redeliver(session, admin, owner_id, run_id)
    assert (again.id, again.status, again.deliveries) == (run_id, "queued", 0)
    run = await drive(runtime, run_id)
    assert (run.status, run.deliveries, run.error) == ("succeeded", 1, None)
    assert len(await deliveries(runtime, run_id)) == 4


async def _owner_of(runtime: Runtime, run_id: str) -> str:
    async with session_scope(runtime.sessions) as session:
        run = await session.get(ActionRun, run_id)
    assert run is not None
    return run.action_id


async def test_a_retry_past_the_window_fails_at_once(
    backend: Backend, registered: list[str]
) -> None:
    runtime = await started(fast_settings(backend, actions_retry_window_seconds=1.0))
    try:
        run_id = await executed(runtime, Script(retry(503, retry_after=5)), registered)
        run = await drive(runtime, run_id)
    finally:
        await runtime.stop()
    assert run.status == "failed" and run.deliveries == 1
    assert run.error is not None and "ACTIONS_RETRY_WINDOW_SECONDS" in run.error["hint"]


async def test_an_executor_that_raises_fails_the_run_with_a_sentence(
    runtime: Runtime, registered: list[str]
) -> None:
    async def broken(ctx: RunContext) -> Outcome:
        raise RuntimeError("password=hunter2 in /srv/secret/path")

    registry.register("webhook", broken)
    registered.append("webhook")
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    async with session_scope(runtime.sessions) as session:
        run_id = (await service.execute(session, owner, action.id)).id

    run = await drive(runtime, run_id)

    assert run.status == "failed" and run.error is not None
    assert run.error["code"] == "internal_error"
    assert run.error["message"] == "The action stopped on an unexpected error (RuntimeError)."
    assert "hunter2" not in str(run.error)


async def test_a_disabled_owner_runs_nothing(runtime: Runtime, registered: list[str]) -> None:
    script = Script(Outcome("succeeded"))
    run_id = await executed(runtime, script, registered)
    await _disable_owner(runtime, run_id)

    run = await drive(runtime, run_id)

    assert script.calls == []
    assert run.status == "failed" and run.error is not None
    assert run.error["code"] == "owner_cannot_run" and "is disabled" in run.error["message"]


async def _disable_owner(runtime: Runtime, run_id: str) -> None:
    async with session_scope(runtime.sessions) as session:
        run = await session.get(ActionRun, run_id)
        assert run is not None
        action = await session.get(Action, run.action_id)
        assert action is not None
        await session.execute(
            update(User).where(User.id == action.owner_user).values(disabled_at=utcnow())
        )


async def test_a_kind_this_build_lacks_fails_its_runs(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.MODULES, "webhook", "backend.actions.kinds.not_in_this_build")
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    async with session_scope(runtime.sessions) as session:
        run_id = (await service.execute(session, owner, action.id)).id

    run = await drive(runtime, run_id)

    assert run.status == "failed" and run.error is not None
    assert run.error["message"].startswith("This kind is not available")


async def test_a_secret_no_key_opens_fails_the_run_naming_the_setting(
    runtime: Runtime, registered: list[str]
) -> None:
    from cryptography.fernet import Fernet

    script = Script(Outcome("succeeded"))
    registry.register("webhook", script)
    registered.append("webhook")
    owner = await person(runtime, Role.UPLOADER)
    assert runtime.cipher is not None
    other = Cipher([Fernet.generate_key()])
    async with session_scope(runtime.sessions) as session:
        action, _ = await service.create(session, owner, webhook_in(), other)
    async with session_scope(runtime.sessions) as session:
        run_id = (await service.execute(session, owner, action.id)).id

    run = await drive(runtime, run_id)

    assert script.calls == []
    assert run.status == "failed" and run.error is not None
    assert run.error["code"] == "secret_unreadable"
    assert "ACTIONS_SECRET_KEYS" in run.error["message"]


async def _notices(runtime: Runtime, user_id: str) -> list[str]:
    from backend.notifications.models import Notification

    async with session_scope(runtime.sessions) as session:
        rows = await session.scalars(
            select(Notification.title)
            .where(Notification.user_id == user_id, Notification.kind == "action_failed")
            .order_by(Notification.id)
        )
        return list(rows)


async def test_the_owner_is_told_when_runs_start_failing_not_at_every_failure(
    runtime: Runtime, registered: list[str]
) -> None:
    """Found by a new analyst: a scheduled import failing every minute told no one."""
    broken = Outcome(
        "failed", error={"code": "source_unreadable", "message": "The address answered 404."}
    )
    script = Script(broken, broken, Outcome("succeeded"), broken)
    first = await executed(runtime, script, registered)
    action_id = await _owner_of(runtime, first)
    async with session_scope(runtime.sessions) as session:
        action = await session.get(Action, action_id)
        assert action is not None and action.owner_user is not None
        owner_user = action.owner_user
        owner = await session.get(User, owner_user)
    assert owner is not None
    await drive(runtime, first)
    for _ in range(3):
        async with session_scope(runtime.sessions) as session:
            admin = await person(runtime, Role.ADMIN)
            run = await service.execute(session, admin, action_id)
        await drive(runtime, run.id)

    titles = await _notices(runtime, owner_user)
    assert titles == [
        "Your action “hook” failed: The address answered 404.",
        "Your action “hook” failed: The address answered 404.",
    ]  # the first failure, and the one after a success; not the second in a row

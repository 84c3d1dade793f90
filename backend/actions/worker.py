"""Actions' runs as the workers' jobs: claimed with a lease like tasks, executed by their kind's
module outside any transaction, and ended (or sent back to the queue for a later delivery) by
the rules of backend.actions.delivery. Every write is a short transaction guarded by the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import delivery, lifecycle, runs, scheduler
from backend.actions.access import owner_principal
from backend.actions.delivery import Attempt
from backend.actions.kinds import ActionView, Outcome, RunContext, RunView, Services, registry
from backend.actions.models import Action, ActionDelivery, ActionRun, RunStatus
from backend.actions.secrets import Cipher, SecretUnreadable
from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import session_scope, utcnow
from backend.errors import UNEXPECTED, AppError
from backend.redaction import scrub
from backend.tasks.lifecycle import LeaseLost
from backend.worker.leases import keep_lease

log = logging.getLogger(__name__)
PURGE_EVERY = dt.timedelta(hours=1)


class RunFailed(Exception):
    """The run cannot go on: `error` ({code, message, hint}) says why, in sentences."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message}
        if hint:
            self.error["hint"] = hint


class ActionRuns:
    """The JobSource of actions' runs for backend.worker.pool.WorkerPool."""

    name = "action runs"

    def __init__(self, services: Services, cipher: Cipher) -> None:
        self.services = services
        self.cipher = cipher
        self._purged: dt.datetime | None = None

    async def claim(self, owner: str) -> RunJob | None:
        lease = self.services.settings.worker_lease_seconds
        async with session_scope(self.services.sessions) as session:
            run_id = await runs.claim_next_run(session, owner, lease)
        return RunJob(self, run_id, owner) if run_id is not None else None

    async def tick(self) -> None:
        """Due schedules and new events become runs; old runs go now and then."""
        now = utcnow()
        settings = self.services.settings
        purge = self._purged is None or now - self._purged >= PURGE_EVERY
        async with session_scope(self.services.sessions) as session:
            made = await scheduler.tick(session, now, max_queued=settings.actions_max_queued_runs)
        if made:
            self.services.wake_workers()
        if purge:
            async with session_scope(self.services.sessions) as session:
                await scheduler.purge(session, now, settings.actions_runs_keep_days)
            self._purged = now


@dataclass(frozen=True)
class Started:
    action: Action
    run: ActionRun
    owner: Principal


class RunJob:
    """One claimed run, executed while its worker holds the lease."""

    def __init__(self, source: ActionRuns, run_id: str, owner: str) -> None:
        self.source = source
        self.services = source.services
        self.run_id = run_id
        self.owner = owner

    async def run(self) -> None:
        """The run, while the lease is kept: when the keeper finds the run no longer this
        worker's (taken over, or its action deleted), the run is cancelled, as a task's is."""
        lease = self.services.settings.worker_lease_seconds
        keeper = asyncio.create_task(keep_lease(self._extend, lease))
        work = asyncio.create_task(self._run())
        try:
            await asyncio.wait({keeper, work}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done() and keeper.exception() is None:
                log.info("run %s: no longer held (taken over or deleted); stopping", self.run_id)
                work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        except LeaseLost:
            log.info("run %s: lease lost (taken over); stopping", self.run_id)
        finally:
            for helper in (keeper, work):
                if not helper.done():
                    helper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await helper

    async def _extend(self, expires: dt.datetime) -> bool:
        async with session_scope(self.services.sessions) as session:
            return await runs.extend_lease(session, self.run_id, self.owner, expires)

    async def _run(self) -> None:
        try:
            started = await self._start()
        except RunFailed as failed:
            await self._end_failed(failed.error)
            return
        if started is None:
            return
        outcome = await self._execute(started)
        await self._finish(started.run, outcome)

    async def _start(self) -> Started | None:
        """The run and its action, the owner rebuilt; None when it is not this worker's or has
        been tried too often (then failed as worker_died)."""
        async with session_scope(self.services.sessions) as session:
            run = await session.get(ActionRun, self.run_id, populate_existing=True)
            if run is None or run.lease_owner != self.owner:
                return None
            if run.attempts > self.services.settings.worker_max_attempts:
                await self._give_up(session, run)
                return None
            action = await session.get(Action, run.action_id)
            if action is None:
                return None
            if not action.enabled and run.trigger != "manual":
                error = runs.DISABLED_ERROR
                raise RunFailed(error["code"], error["message"], error["hint"])
            try:
                owner = await owner_principal(session, action)
            except AppError as exc:
                raise RunFailed("owner_cannot_run", exc.message, exc.detail) from None
            await self._mark_started(session, run)
        return Started(action, run, owner)

    async def _mark_started(self, session: AsyncSession, run: ActionRun) -> None:
        now = utcnow()
        values: dict[str, Any] = {}
        if run.started_at is None:
            values["started_at"] = now
        if run.deadline_at is None:
            window = dt.timedelta(seconds=self.services.settings.actions_retry_window_seconds)
            values["deadline_at"] = now + window
        if values:
            await lifecycle.advance_run(
                session, run.id, RunStatus.RUNNING, owner=self.owner, **values
            )
        await session.refresh(run)  # read whole before the session ends (the worker keeps it)

    async def _give_up(self, session: AsyncSession, run: ActionRun) -> None:
        log.warning("run %s: gave up after %d claims without a result", run.id, run.attempts - 1)
        await lifecycle.advance_run(
            session,
            run.id,
            RunStatus.FAILED,
            owner=self.owner,
            error={
                "code": "worker_died",
                "message": f"The worker stopped each of the {run.attempts - 1} times it ran "
                "this run, so it was given up.",
                "hint": "Send it again; if it stops again, report it with this run's id.",
            },
        )

    def _context(self, started: Started, secret: str | None) -> RunContext:
        action, run = started.action, started.run
        view = ActionView(
            id=action.id,
            name=action.name,
            kind=action.kind,
            params=dict(action.params or {}),
            secret=secret,
            owner_user=action.owner_user,
            owner_id=action.owner_id,
            owner_name=action.owner_name,
        )
        run_view = RunView(
            id=run.id,
            trigger=run.trigger,
            trigger_key=run.trigger_key,
            scheduled_for=run.scheduled_for,
            input=run.input,
            attempts=run.attempts,
            deliveries=run.deliveries,
            output=dict(run.output or {}),
            created_at=run.created_at,
        )
        return RunContext(
            action=view,
            run=run_view,
            owner=started.owner,
            services=self.services,
            checkpoint=self._checkpoint,
            now=utcnow(),
        )

    async def _checkpoint(self, session: AsyncSession, values: dict[str, Any]) -> None:
        await merge_output(session, self.run_id, self.owner, values)

    async def _execute(self, started: Started) -> Outcome:
        """The kind's executor's outcome; a failure before or inside it is a failed outcome
        with a sentence (the traceback goes to the log only)."""
        action = started.action
        try:
            secret = self.source.cipher.open(action.secret_box) if action.secret_box else None
        except SecretUnreadable:
            return _failed(
                "secret_unreadable",
                "The action's secret cannot be read with the configured ACTIONS_SECRET_KEYS.",
                "Put the key it was sealed with back in ACTIONS_SECRET_KEYS (after the new "
                "one), or rotate the action's secret.",
            )
        executor = registry.executor_for(action.kind)
        if executor is None:
            return _failed(
                "kind_unavailable",
                f"This kind is not available: this service cannot run {action.kind} actions.",
                "Ask an operator to update the service, or delete the action.",
            )
        try:
            return await executor(self._context(started, secret))
        except LeaseLost:
            raise
        except UNEXPECTED as exc:
            log.exception("run %s (%s) stopped on an unexpected error", self.run_id, action.kind)
            return _failed(
                "internal_error",
                f"The action stopped on an unexpected error ({type(exc).__name__}).",
                "Send it again; if it fails again, report it with this run's id.",
            )

    async def _finish(self, run: ActionRun, outcome: Outcome) -> None:
        """The attempts recorded, then the run ended or queued for its next delivery."""
        now = utcnow()
        settings = self.services.settings
        # A retry that recorded no attempt (a source that did not answer) still counts as one.
        tried = len(outcome.attempts) or (1 if outcome.status == "retry" else 0)
        delivered = run.deliveries + tried
        async with session_scope(self.services.sessions) as session:
            output = await merge_output(session, self.run_id, self.owner, outcome.output)
            record_attempts(session, self.run_id, run.deliveries, outcome.attempts, now)
            to, values = decide(outcome, run, delivered, now, settings)
            values["deliveries"] = delivered
            values["output"] = output
            await lifecycle.advance_run(session, self.run_id, to, owner=self.owner, **values)
        if to is RunStatus.QUEUED:
            self.services.wake_workers()
        log.info("run %s %s after %d deliveries", self.run_id, to.value, delivered)

    async def _end_failed(self, error: dict[str, str]) -> None:
        async with session_scope(self.services.sessions) as session:
            await lifecycle.advance_run(
                session, self.run_id, RunStatus.FAILED, owner=self.owner, error=error
            )
        log.info("run %s failed: %s", self.run_id, scrub(error["message"])[:300])


def _failed(code: str, message: str, hint: str) -> Outcome:
    return Outcome("failed", error={"code": code, "message": message, "hint": hint})


def decide(
    outcome: Outcome, run: ActionRun, delivered: int, now: dt.datetime, settings: Settings
) -> tuple[RunStatus, dict[str, Any]]:
    """Where the run goes: its end, or the queue with the time of its next delivery (unless
    the deliveries are used up or the next one would fall after the deadline)."""
    if outcome.status == "succeeded":
        return RunStatus.SUCCEEDED, {"error": None}
    error = outcome.error or _attempt_error(outcome.attempts)
    if outcome.status == "failed":
        return RunStatus.FAILED, {"error": error}
    if delivered >= settings.actions_max_deliveries:
        return RunStatus.FAILED, {"error": _gave_up(error, f"{delivered} deliveries")}
    last = outcome.attempts[-1] if outcome.attempts else None
    wait = outcome.retry_after
    if wait is None and last is not None:
        wait = last.retry_after
    delay = delivery.backoff(
        delivered,
        settings.actions_retry_base_seconds,
        settings.actions_retry_max_seconds,
        wait,
        spread_key=str(run.id),
    )
    following = now + dt.timedelta(seconds=delay)
    if run.deadline_at is not None and following > run.deadline_at:
        return RunStatus.FAILED, {"error": _gave_up(error, "its retry window")}
    return RunStatus.QUEUED, {
        "error": error,
        "next_attempt_at": following,
        "attempts": lifecycle.not_an_attempt(),
    }


def _attempt_error(attempts: list[Attempt]) -> dict[str, str]:
    last = attempts[-1] if attempts else None
    if last is None:
        return {"code": "failed", "message": "The action failed without saying why."}
    code = "refused" if last.refused else "delivery_failed"
    return {"code": code, "message": last.error or f"The answer was HTTP {last.status_code}."}


def _gave_up(error: dict[str, str], spent: str) -> dict[str, str]:
    return {
        **error,
        "hint": f"Delivery was given up after {spent} (ACTIONS_MAX_DELIVERIES, "
        "ACTIONS_RETRY_WINDOW_SECONDS); fix the receiver, then send it again.",
    }


def channel_of(target: str) -> str:
    return "smtp" if target.lower().startswith("smtp") else "http"


def record_attempts(
    session: AsyncSession, run_id: str, before: int, attempts: list[Attempt], at: dt.datetime
) -> None:
    """One delivery row per attempt, numbered after the run's earlier deliveries."""
    for number, attempt in enumerate(attempts, start=before + 1):
        session.add(
            ActionDelivery(
                run_id=run_id,
                attempt=number,
                at=at,
                channel=channel_of(attempt.target),
                target=attempt.target[:255],
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                response_head=attempt.head[:1024] if attempt.head else None,
                error=attempt.error[:500] if attempt.error else None,
                refused=attempt.refused,
            )
        )


async def merge_output(
    session: AsyncSession, run_id: str, owner: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Merges `values` into the run's output in the caller's transaction, while `owner` holds
    its lease (LeaseLost otherwise); returns the merged output."""
    found = (
        await session.execute(
            select(ActionRun.output)
            .where(ActionRun.id == run_id, ActionRun.lease_owner == owner)
            .with_for_update()
        )
    ).one_or_none()
    if found is None:
        raise LeaseLost(run_id)
    merged = {**(found.output or {}), **values}
    if values:
        await session.execute(
            update(ActionRun)
            .where(ActionRun.id == run_id, ActionRun.lease_owner == owner)
            .values(output=merged)
        )
    return merged

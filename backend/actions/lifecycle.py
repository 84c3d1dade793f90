"""A run's lifecycle: the moves between statuses, written down as data, and the one place that
makes them (as backend.tasks.lifecycle is for tasks).

A run is created queued; a worker's claim moves it to running (a claim of an expired lease keeps
it running: a take-over); the worker ends it (succeeded, failed) or sends it back to the queue
with a time for its next delivery. A user's "send again" moves an ended run back to the queue,
with the same id (so the same webhook-id) and a fresh count of deliveries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import notices
from backend.actions.models import ActionRun, RunStatus
from backend.db import utcnow
from backend.tasks.lifecycle import LeaseLost

R = RunStatus

RUN_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    # claimed by a worker; a run whose action cannot run any more fails before its claim
    R.QUEUED: frozenset({R.RUNNING, R.FAILED}),
    # a take-over; a delivery to try again later; the end
    R.RUNNING: frozenset({R.RUNNING, R.QUEUED, R.SUCCEEDED, R.FAILED}),
    # "send again"
    R.SUCCEEDED: frozenset({R.QUEUED}),
    R.FAILED: frozenset({R.QUEUED}),
}
ENDED = frozenset({R.SUCCEEDED, R.FAILED})


class IllegalRunTransition(RuntimeError):
    """A move the run's lifecycle does not allow: a bug in the caller, never written."""

    def __init__(self, run_id: str, before: str, after: RunStatus) -> None:
        super().__init__(
            f"run {run_id}: a move from {before} to {after.value} is not in the run lifecycle"
        )


def allowed(before: RunStatus, after: RunStatus) -> bool:
    return after in RUN_TRANSITIONS[before]


def _sources(after: RunStatus) -> list[str]:
    return [before.value for before, moves in RUN_TRANSITIONS.items() if after in moves]


def new_id() -> str:
    return uuid.uuid4().hex


def create_run(
    session: AsyncSession,
    action_id: str,
    trigger: str,
    trigger_key: str,
    *,
    created_by: str | None = None,
    **columns: Any,
) -> ActionRun:
    """A new run, queued, added to the session (a manual run: the scheduler inserts its own
    with on-conflict-do-nothing, through `queued_values`)."""
    run = ActionRun(**queued_values(action_id, trigger, trigger_key, created_by, **columns))
    session.add(run)
    return run


def queued_values(
    action_id: str,
    trigger: str,
    trigger_key: str,
    created_by: str | None = None,
    **columns: Any,
) -> dict[str, Any]:
    """The columns of a new queued run (for an INSERT the caller builds)."""
    return {
        "id": new_id(),
        "action_id": action_id,
        "trigger": trigger,
        "trigger_key": trigger_key,
        "status": R.QUEUED.value,
        "attempts": 0,
        "deliveries": 0,
        "created_by": created_by,
        "created_at": utcnow(),
        **columns,
    }


async def claim(
    session: AsyncSession,
    runnable: ColumnElement[bool],
    *,
    owner: str,
    lease_seconds: float,
    now: dt.datetime,
) -> str | None:
    """Take the run `runnable` selects in one UPDATE: running, leased to `owner`, one more
    claim counted. Returns its id, or None when another worker took it first."""
    claimed = await session.execute(
        update(ActionRun)
        .where(runnable)
        .values(
            status=R.RUNNING.value,
            lease_owner=owner,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=ActionRun.attempts + 1,
            next_attempt_at=None,
        )
        .returning(ActionRun.id)
    )
    return claimed.scalar_one_or_none()


async def fail_queued(
    session: AsyncSession, which: ColumnElement[bool], error: dict[str, str], now: dt.datetime
) -> None:
    """Queued runs `which` selects end failed with `error`, in one UPDATE (queued to failed:
    a run whose action cannot run any more)."""
    await session.execute(
        update(ActionRun)
        .where(which, ActionRun.status == R.QUEUED.value)
        .values(status=R.FAILED.value, error=error, finished_at=now, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


async def advance_run(
    session: AsyncSession, run_id: str, to: RunStatus, *, owner: str, **columns: Any
) -> None:
    """Move a run the worker `owner` holds to `to` in one UPDATE (LeaseLost when it no longer
    holds it). An end or a return to the queue gives the lease up."""
    if "status" in columns:
        raise TypeError("the status is the move's target, not a column to set")
    if to in ENDED or to is R.QUEUED:
        columns.setdefault("lease_owner", None)
        columns.setdefault("lease_expires_at", None)
    if to in ENDED:
        columns.setdefault("finished_at", utcnow())
    result = await session.execute(
        update(ActionRun)
        .where(
            ActionRun.id == run_id,
            ActionRun.lease_owner == owner,
            ActionRun.status.in_(_sources(to)),
        )
        .values(status=to.value, **columns)
        .returning(ActionRun.id)
    )
    if result.scalar_one_or_none() is None:
        await _refused(session, run_id, to, owner)
    if to is R.FAILED:
        await notices.run_failed(session, run_id, columns.get("error"))


async def _refused(session: AsyncSession, run_id: str, to: RunStatus, owner: str) -> None:
    held = (
        await session.execute(
            select(ActionRun.status, ActionRun.lease_owner).where(ActionRun.id == run_id)
        )
    ).one_or_none()
    if held is not None and held.lease_owner == owner:
        raise IllegalRunTransition(run_id, held.status, to)
    raise LeaseLost(run_id)


def not_an_attempt() -> ColumnElement[int]:
    """The attempts column less the claim that holds the run, for a return to the queue: a
    delivery that got an answer (or a clear failure) was not a worker that died."""
    return ActionRun.attempts - 1


def move_run(run: ActionRun, to: RunStatus, **columns: Any) -> None:
    """Move a run the caller has read (and locked) to `to`: "send again" (an ended run back to
    the queue, its deliveries counted afresh, the same id) or a failure before any claim."""
    if not allowed(R(run.status), to):
        raise IllegalRunTransition(run.id, run.status, to)
    if to is R.QUEUED:
        columns = {
            "deliveries": 0,
            "attempts": 0,
            "deadline_at": None,
            "next_attempt_at": None,
            "finished_at": None,
            "error": None,
            "lease_owner": None,
            "lease_expires_at": None,
            **columns,
        }
    if to in ENDED:
        columns.setdefault("finished_at", utcnow())
    for name, value in columns.items():
        setattr(run, name, value)
    run.status = to.value

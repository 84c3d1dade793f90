"""A task's lifecycle: the moves between statuses, written down as data, and the one place that
makes them.

Every change of a task's status goes through this module: a new task (queued, with its first
event), a claim by a worker, the worker's steps while it holds the lease, and a user's cancel or
retry. Each move is checked against TRANSITIONS (a claim's moves, CLAIMS, when this module
loads); a move that is not there raises IllegalTransition and writes nothing. Each move records
its TaskEvent (a claim's is written when its run starts), and counts its metrics and writes its
audit entry where the caller asks for them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy import inspect as inspect_row
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import after_commit, utcnow
from backend.events import outbox
from backend.events.models import EventKind
from backend.monitoring import audit, tracing
from backend.monitoring.metrics import Registry
from backend.notifications import service as notifications
from backend.tasks.models import (
    ACTIVE_STATUSES,
    DRUID_STATUSES,
    TERMINAL_STATUSES,
    IngestionTask,
    TaskEvent,
    TaskStatus,
)

S = TaskStatus

# From a status, the statuses a task may move to. A worker's status moving to itself is a run
# starting or resuming (a claim taking over an expired lease keeps the status; the run then
# records that it resumed). The Druid phase's statuses move among themselves: a run that takes
# a task over resumes where Druid is (submitting again when Druid lost its task).
TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    # claimed by a worker; cancelled by a user
    S.QUEUED: frozenset({S.VALIDATING, S.CANCELLED}),
    # a run starts (again); the rows are read and checked; storage down: back to the queue
    S.VALIDATING: frozenset({S.VALIDATING, S.LOADING, S.QUEUED, S.FAILED, S.CANCELLED}),
    # stored: done, or on to Druid; a run that took it over starts validating again
    S.LOADING: frozenset(
        {S.LOADING, S.VALIDATING, S.SUCCEEDED, S.DRUID_SUBMITTING, S.QUEUED, S.FAILED, S.CANCELLED}
    ),
    # Druid unreachable: claimed again once its backoff has passed
    S.WAITING_FOR_DRUID: frozenset({S.DRUID_SUBMITTING, S.CANCELLED}),
    # a Druid status without a stored dataset starts the run over (validating)
    S.DRUID_SUBMITTING: DRUID_STATUSES
    | frozenset({S.VALIDATING, S.WAITING_FOR_DRUID, S.FAILED, S.CANCELLED}),
    S.DRUID_INDEXING: DRUID_STATUSES
    | frozenset({S.VALIDATING, S.WAITING_FOR_DRUID, S.FAILED, S.CANCELLED}),
    # queryable in Druid: succeeded
    S.DRUID_LOADING: DRUID_STATUSES
    | frozenset({S.VALIDATING, S.SUCCEEDED, S.WAITING_FOR_DRUID, S.FAILED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    # retried by a user
    S.FAILED: frozenset({S.QUEUED}),
    S.CANCELLED: frozenset({S.QUEUED}),
}
# What a claim moves a runnable task to. A task whose worker's lease expired keeps its status
# (a take-over): every active status may move to itself.
CLAIMS: Mapping[TaskStatus, TaskStatus] = {
    S.QUEUED: S.VALIDATING,
    S.WAITING_FOR_DRUID: S.DRUID_SUBMITTING,
}


def _check_table() -> None:
    assert set(TRANSITIONS) == set(TaskStatus), "every status has its row"
    for before, after in CLAIMS.items():
        assert after in TRANSITIONS[before], f"the claim {before} -> {after} is not in the table"
    for active in ACTIVE_STATUSES:
        assert active in TRANSITIONS[active], f"a take-over keeps {active}"


_check_table()
# The ends that notify the uploader (a cancel is their own doing), and what the notice says.
NOTIFIED = frozenset({S.SUCCEEDED, S.FAILED})
_ENDED = (
    "id",
    "filename",
    "datasource",
    "rows_read",
    "rows_valid",
    "rows_rejected",
    "error",
    "source_action_id",
    "source_run_id",
    "dry_run",
)
_VALUES = frozenset(s.value for s in TaskStatus)
ACTIVE_VALUES = frozenset(s.value for s in ACTIVE_STATUSES)


class IllegalTransition(RuntimeError):
    """A move the lifecycle does not allow: a bug in the caller, never written."""

    def __init__(self, task_id: str, before: str, after: TaskStatus) -> None:
        moves = TRANSITIONS.get(TaskStatus(before), frozenset()) if before in _VALUES else ()
        allowed = ", ".join(sorted(moves)) or "none"
        super().__init__(
            f"task {task_id}: a move from {before} to {after.value} is not in the lifecycle's "
            f"table (from {before} it may move to: {allowed})"
        )
        self.task_id = task_id
        self.before = before
        self.after = after


class LeaseLost(tracing.Stop):
    """The task was cancelled or taken over; its worker must stop touching it."""


def allowed(before: TaskStatus, after: TaskStatus) -> bool:
    return after in TRANSITIONS[before]


def check(task_id: str, before: str, after: TaskStatus) -> None:
    """Raises IllegalTransition when `before` may not move to `after`."""
    if before not in _VALUES or not allowed(TaskStatus(before), after):
        raise IllegalTransition(task_id, before, after)


def sources(after: TaskStatus) -> frozenset[TaskStatus]:
    """The statuses that may move to `after`."""
    return frozenset(before for before, moves in TRANSITIONS.items() if after in moves)


@dataclass
class Stages:
    """Stage durations, rows and outcomes for Prometheus (this process's registry): one per
    worker slot, which times the stages of the task it runs."""

    metrics: Registry | None = None
    _stage: tuple[str, float] | None = field(default=None, repr=False)

    def reset(self) -> None:
        self._stage = None

    def observe(self, status: TaskStatus, values: Mapping[str, Any]) -> None:
        if self.metrics is None:
            return
        now = time.monotonic()
        if self._stage is not None and self._stage[0] != status.value:
            self.metrics.stages.labels(self._stage[0]).observe(now - self._stage[1])
        if self._stage is None or self._stage[0] != status.value:
            self._stage = (status.value, now)
        for outcome in ("valid", "rejected"):
            if values.get(f"rows_{outcome}"):
                self.metrics.rows.labels(outcome).inc(values[f"rows_{outcome}"])
        if status in TERMINAL_STATUSES:
            self.metrics.tasks.labels(status.value).inc()
            self._stage = None


@dataclass(frozen=True)
class Audit:
    """The audit entry a move writes in the same transaction (its target is the task)."""

    actor: str
    action: str
    detail: dict[str, Any] | None = None


def _after(session: AsyncSession, stages: Stages | None, to: TaskStatus, values: Any) -> None:
    if stages is not None:
        counted = dict(values)
        after_commit(session, lambda: stages.observe(to, counted))


def create(
    session: AsyncSession,
    message: str,
    *,
    detail: dict[str, Any] | None = None,
    record: Audit | None = None,
    **columns: Any,
) -> IngestionTask:
    """A new task, queued, with its first event, added to the session."""
    now = utcnow()
    columns.setdefault("created_at", now)
    columns.setdefault("updated_at", now)
    task = IngestionTask(status=S.QUEUED.value, progress=0.0, attempts=0, **columns)
    task.events = [TaskEvent(at=now, status=S.QUEUED.value, message=message, detail=detail)]
    session.add(task)
    if record is not None:
        audit.record(session, record.actor, record.action, task.id, record.detail)
    return task


def move(
    session: AsyncSession,
    task: IngestionTask,
    to: TaskStatus,
    message: str,
    *,
    detail: dict[str, Any] | None = None,
    record: Audit | None = None,
    stages: Stages | None = None,
    **columns: Any,
) -> None:
    """Move a task the caller has read (and locked, where its state decides) to `to`, with its
    event; `columns` are further columns to set."""
    if "status" in columns:
        raise TypeError("the status is the move's target, not a column to set")
    check(task.id, task.status, to)
    if record is not None:
        audit.record(session, record.actor, record.action, task.id, record.detail)
    now = utcnow()
    for name, value in columns.items():
        setattr(task, name, value)
    task.status = to.value
    task.updated_at = now
    event = TaskEvent(task_id=task.id, at=now, status=to.value, message=message, detail=detail)
    if "events" in inspect_row(task).unloaded:
        session.add(event)
    else:
        task.events.append(event)
    _after(session, stages, to, columns)
    if to in NOTIFIED:
        ended = {name: getattr(task, name) for name in _ENDED}
        _ended(session, task.created_by_user, ended, to is S.SUCCEEDED)


async def advance(
    session: AsyncSession,
    task_id: str,
    to: TaskStatus,
    message: str,
    *,
    owner: str,
    stages: Stages | None = None,
    **columns: Any,
) -> None:
    """Move a task a worker holds to `to` in one UPDATE, only while `owner` holds its lease
    (LeaseLost otherwise: it was cancelled or taken over). `columns` are further columns to
    set (values or SQL expressions)."""
    if "status" in columns:
        raise TypeError("the status is the move's target, not a column to set")
    now = utcnow()
    before = [s.value for s in sources(to) & ACTIVE_STATUSES]
    result = await session.execute(
        update(IngestionTask)
        .where(
            IngestionTask.id == task_id,
            IngestionTask.lease_owner == owner,
            IngestionTask.status.in_(before),
        )
        .values(status=to.value, updated_at=now, **columns)
        .returning(IngestionTask.created_by_user, *(getattr(IngestionTask, n) for n in _ENDED))
    )
    moved = result.one_or_none()
    if moved is None:
        await _refused(session, task_id, to, owner)
        return
    session.add(TaskEvent(task_id=task_id, at=now, status=to.value, message=message))
    _after(session, stages, to, columns)
    if to in NOTIFIED:
        ended = dict(zip(_ENDED, moved[1:], strict=True))
        _ended(session, moved[0], ended, to is S.SUCCEEDED)


def _ended(
    session: AsyncSession, user_id: str | None, ended: dict[str, Any], succeeded: bool
) -> None:
    """A task's end, in the move's transaction: its uploader's notification, and its event
    (task.succeeded or task.failed) for the actions that listen to it. A preview's end (a dry
    run: nothing loaded) is neither: its uploader follows it."""
    if ended.get("dry_run"):
        return
    notifications.task_finished(session, user_id, ended, succeeded)
    kind = EventKind.TASK_SUCCEEDED if succeeded else EventKind.TASK_FAILED
    outbox.emit(
        session,
        kind,
        subject=ended["id"],
        datasource=ended["datasource"],
        payload=task_event(ended, succeeded),
    )


def task_event(ended: dict[str, Any], succeeded: bool) -> dict[str, Any]:
    """What a task.* event says: the task, its counts, its error when it failed, where its
    report is, and the action that fetched the file when one did."""
    payload: dict[str, Any] = {
        "task_id": ended["id"],
        "datasource": ended["datasource"],
        "filename": ended["filename"],
        "status": S.SUCCEEDED.value if succeeded else S.FAILED.value,
        "rows_read": ended.get("rows_read"),
        "rows_valid": ended.get("rows_valid"),
        "rows_rejected": ended.get("rows_rejected"),
        "report_url": f"/api/ingest/status/{ended['id']}",
    }
    error = ended.get("error")
    if not succeeded and isinstance(error, dict):
        payload["error"] = {"code": error.get("code"), "message": error.get("message")}
    if ended.get("source_action_id"):
        payload["source_action_id"] = ended["source_action_id"]
        payload["source_run_id"] = ended.get("source_run_id")
    return payload


def not_an_attempt() -> ColumnElement[int]:
    """The attempts column less the run that holds the task, for advance(): a run that ends by
    waiting out an outage was not a failed attempt (its claim counted one)."""
    return IngestionTask.attempts - 1


async def _refused(session: AsyncSession, task_id: str, to: TaskStatus, owner: str) -> None:
    """Why a worker's move changed nothing: the lease is gone, or the move is not allowed."""
    held = (
        await session.execute(
            select(IngestionTask.status, IngestionTask.lease_owner).where(
                IngestionTask.id == task_id
            )
        )
    ).one_or_none()
    if held is not None and held.lease_owner == owner and held.status in ACTIVE_VALUES:
        raise IllegalTransition(task_id, held.status, to)
    raise LeaseLost(task_id)


def _claimed_status() -> ColumnElement[str]:
    moves = [
        (IngestionTask.status == before.value, after.value) for before, after in CLAIMS.items()
    ]
    return case(*moves, else_=IngestionTask.status)


async def claim(
    session: AsyncSession,
    runnable: ColumnElement[bool],
    *,
    owner: str,
    lease_seconds: float,
    now: dt.datetime,
) -> str | None:
    """Take the task `runnable` selects (queued, waiting for Druid and due, or active with an
    expired lease) in one UPDATE: set the lease and make the claim's move (CLAIMS; a taken-over
    task keeps its status). Returns its id, or None when another worker took it first."""
    waiting = IngestionTask.status == S.WAITING_FOR_DRUID.value
    claimed = await session.execute(
        update(IngestionTask)
        .where(runnable)
        .values(
            lease_owner=owner,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            # Waiting out a Druid outage is not a failed attempt.
            attempts=IngestionTask.attempts + case((waiting, 0), else_=1),
            status=_claimed_status(),
            next_attempt_at=None,
            updated_at=now,
        )
        .returning(IngestionTask.id)
    )
    return claimed.scalar_one_or_none()

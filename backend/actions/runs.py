"""The queries on runs: the claim (as tasks are claimed), pages with their deliveries, and the
purge of old runs. Changes of a run's status are backend.actions.lifecycle's."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.actions import lifecycle
from backend.actions.models import Action, ActionDelivery, ActionRun, RunStatus
from backend.db import utcnow


def runnable(now: dt.datetime) -> ColumnElement[bool]:
    """Queued and due (a delivery to try again has a next_attempt_at), or running with an
    expired lease (its worker died or stalled)."""
    due = or_(ActionRun.next_attempt_at.is_(None), ActionRun.next_attempt_at <= now)
    return or_(
        and_(ActionRun.status == RunStatus.QUEUED.value, due),
        and_(ActionRun.status == RunStatus.RUNNING.value, ActionRun.lease_expires_at < now),
    )


CLAIM_LOCK = 0x61637431  # the advisory lock claims of actions' runs take on PostgreSQL
DISABLED_ERROR = {
    "code": "action_disabled",
    "message": "The action was disabled before this run started.",
    "hint": "Enable the action again, then run it or wait for its next trigger.",
}


def _busy(now: dt.datetime) -> ColumnElement[bool]:
    """Another run of the same action is running with a live lease: one at a time per action."""
    other = aliased(ActionRun)
    return (
        exists()
        .where(
            other.action_id == ActionRun.action_id,
            other.id != ActionRun.id,
            other.status == RunStatus.RUNNING.value,
            other.lease_expires_at >= now,
        )
        .correlate(ActionRun)
    )


async def fail_disabled(session: AsyncSession, now: dt.datetime) -> None:
    """Queued runs of disabled actions end failed (a manual run, asked for explicitly, stays)."""
    disabled = select(Action.id).where(Action.enabled.is_(False))
    await lifecycle.fail_queued(
        session,
        and_(ActionRun.action_id.in_(disabled), ActionRun.trigger != "manual"),
        DISABLED_ERROR,
        now,
    )


async def claim_next_run(session: AsyncSession, owner: str, lease_seconds: float) -> str | None:
    """Atomically take the oldest runnable run of an action with none running: the same
    statement moves it to running and sets the lease, so no other worker sees it as runnable
    until the lease expires. PostgreSQL skips the rows other claims hold; SQLite's BEGIN
    IMMEDIATE serialises writers. Queued runs of disabled actions end failed first."""
    if session.get_bind().dialect.name == "postgresql":
        # Claims of runs take turns (until commit): two claims at once would each miss the
        # other's run of the same action, both uncommitted, and run one action twice.
        await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    now = utcnow()
    await fail_disabled(session, now)
    condition = and_(runnable(now), ~_busy(now))
    candidate = (
        select(ActionRun.id)
        .where(condition)
        .order_by(ActionRun.created_at, ActionRun.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return await lifecycle.claim(
        session,
        and_(ActionRun.id == candidate, condition),
        owner=owner,
        lease_seconds=lease_seconds,
        now=now,
    )


async def extend_lease(
    session: AsyncSession, run_id: str, owner: str, expires: dt.datetime
) -> bool:
    """Keeps the lease while `owner` holds the run; False when it no longer does."""
    result = await session.execute(
        update(ActionRun)
        .where(ActionRun.id == run_id, ActionRun.lease_owner == owner)
        .values(lease_expires_at=expires)
        .returning(ActionRun.id)
    )
    return result.scalar_one_or_none() is not None


async def page(
    session: AsyncSession, action_id: str, *, limit: int, offset: int
) -> tuple[list[ActionRun], int]:
    """An action's runs, newest first, and how many it has."""
    total = await session.scalar(
        select(func.count()).select_from(ActionRun).where(ActionRun.action_id == action_id)
    )
    rows = await session.scalars(
        select(ActionRun)
        .where(ActionRun.action_id == action_id)
        .order_by(ActionRun.created_at.desc(), ActionRun.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def deliveries_of(
    session: AsyncSession, run_ids: Sequence[str]
) -> dict[str, list[ActionDelivery]]:
    """The deliveries of these runs, in one query, by run, in the order they were made."""
    found: dict[str, list[ActionDelivery]] = defaultdict(list)
    if not run_ids:
        return found
    rows = await session.scalars(
        select(ActionDelivery)
        .where(ActionDelivery.run_id.in_(list(run_ids)))
        .order_by(ActionDelivery.run_id, ActionDelivery.attempt, ActionDelivery.id)
    )
    for row in rows:
        found[row.run_id].append(row)
    return found


async def latest_of(session: AsyncSession, action_ids: Sequence[str]) -> dict[str, ActionRun]:
    """Each action's latest run (one query)."""
    if not action_ids:
        return {}
    newest = (
        select(
            ActionRun.id,
            func.row_number()
            .over(
                partition_by=ActionRun.action_id,
                order_by=(ActionRun.created_at.desc(), ActionRun.id.desc()),
            )
            .label("n"),
        )
        .where(ActionRun.action_id.in_(list(action_ids)))
        .subquery()
    )
    rows = await session.scalars(
        select(ActionRun).join(newest, newest.c.id == ActionRun.id).where(newest.c.n == 1)
    )
    return {row.action_id: row for row in rows}


async def purge(session: AsyncSession, before: dt.datetime) -> int:
    """Deletes ended runs created before `before` (a thousand at a time), except each action's
    latest; their deliveries go with them (deleted explicitly: SQLite may run without foreign
    keys). A run sent again is queued, so it stays. The runs are locked first, skipping those
    another transaction holds (a delete of their action, a send again): the order a delete of
    the action takes them (runs, then deliveries), and a purge never waits for anyone."""
    newer = aliased(ActionRun)
    has_newer = (
        exists()
        .where(newer.action_id == ActionRun.action_id, newer.created_at > ActionRun.created_at)
        .correlate(ActionRun)
    )
    old = (
        select(ActionRun.id)
        .where(
            ActionRun.created_at < before,
            ActionRun.status.in_(sorted(s.value for s in lifecycle.ENDED)),
            has_newer,
        )
        .order_by(ActionRun.id)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    ids = list(await session.scalars(old))
    if not ids:
        return 0
    await session.execute(delete(ActionDelivery).where(ActionDelivery.run_id.in_(ids)))
    await session.execute(delete(ActionRun).where(ActionRun.id.in_(ids)))
    return len(ids)


async def lock_of(session: AsyncSession, action_id: str) -> None:
    """Locks an action's runs (in id order) until the caller's transaction ends."""
    await session.execute(
        select(ActionRun.id)
        .where(ActionRun.action_id == action_id)
        .order_by(ActionRun.id)
        .with_for_update()
    )


async def delete_of(session: AsyncSession, action_id: str) -> None:
    """An action's runs and their deliveries (explicitly: SQLite may run without foreign keys)."""
    ids = select(ActionRun.id).where(ActionRun.action_id == action_id).scalar_subquery()
    await session.execute(delete(ActionDelivery).where(ActionDelivery.run_id.in_(ids)))
    await session.execute(delete(ActionRun).where(ActionRun.action_id == action_id))

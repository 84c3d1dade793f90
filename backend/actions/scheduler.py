"""The database as the scheduler: every worker process ticks (backend.worker.pool), and each tick
turns due schedules and new events into runs, exactly once each.

A schedule gets a run for its latest due time only (a schedule missed while everything was down
runs once, not once per missed time), keyed `schedule:<due time>`; an event gets one run per
trigger listening to it, keyed `event:<outbox id>`. The unique (action_id, trigger_key) makes
two processes ticking at once insert one run.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import cron, lifecycle, runs
from backend.actions.models import Action, ActionRun, ActionTrigger, RunStatus, TriggerType
from backend.events.models import OutboxEvent

log = logging.getLogger(__name__)
EVENTS_PER_TICK = 200
MAX_QUEUED_RUNS = 100  # an action's queued runs past which events are not run (the default)
WAITING = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
DISPATCHED_KEEP = dt.timedelta(days=1)


def schedule_key(due: dt.datetime) -> str:
    return f"schedule:{due.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def event_key(event_id: int) -> str:
    return f"event:{event_id}"


async def insert_run(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Inserts a queued run unless its trigger_key has one already; True when inserted."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(ActionRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["action_id", "trigger_key"])
        .returning(ActionRun.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def tick(
    session: AsyncSession, now: dt.datetime, *, max_queued: int = MAX_QUEUED_RUNS
) -> int:
    """Due schedules and new events as runs (how many were made)."""
    made = await schedule(session, now)
    made += await dispatch(session, now, max_queued=max_queued)
    return made


async def schedule(session: AsyncSession, now: dt.datetime) -> int:
    """Due schedules as runs. The triggers are held from the start (FOR NO KEY UPDATE, in
    order), skipping those another transaction holds (a change or delete of their action, a
    tick of another worker: they are seen at the next tick): the tick never waits for a
    trigger while it holds an action's key for the runs it made."""
    rows = await session.execute(
        select(ActionTrigger, Action.enabled_at)
        .join(Action, Action.id == ActionTrigger.action_id)
        .where(Action.enabled.is_(True), ActionTrigger.type == TriggerType.SCHEDULE.value)
        .order_by(ActionTrigger.action_id, ActionTrigger.id)
        .with_for_update(of=ActionTrigger, key_share=True, skip_locked=True)
    )
    made = 0
    waiting = await _with_waiting_schedule(session)
    for trigger, enabled_at in rows.all():
        due = _due(trigger, now)
        if due is None:
            continue
        since = max(t for t in (trigger.last_scheduled_for, enabled_at) if t is not None)
        if due <= since:
            continue
        if trigger.action_id in waiting:
            # Its last scheduled run still waits or runs: this time is skipped, not run later.
            log.info("action %s: a scheduled run still waits; %s skipped", trigger.action_id, due)
            await _mark_scheduled(session, trigger.id, due)
            continue
        # The trigger marked first (no run when it is gone), then the run, whose insert holds
        # the action's key.
        if not await _mark_scheduled(session, trigger.id, due):
            continue
        values = lifecycle.queued_values(
            trigger.action_id,
            TriggerType.SCHEDULE.value,
            schedule_key(due),
            "schedule",
            scheduled_for=due,
        )
        inserted = await insert_run(session, values)
        made += inserted
        if inserted:
            waiting.add(trigger.action_id)
    return made


async def _with_waiting_schedule(session: AsyncSession) -> set[str]:
    """The actions with a scheduled run queued or running."""
    rows = await session.scalars(
        select(ActionRun.action_id)
        .where(ActionRun.trigger == "schedule", ActionRun.status.in_(WAITING))
        .distinct()
    )
    return set(rows)


async def _mark_scheduled(session: AsyncSession, trigger_id: str, due: dt.datetime) -> bool:
    """The trigger's last scheduled time set to `due`; False when the trigger is gone."""
    marked = await session.execute(
        update(ActionTrigger)
        .where(ActionTrigger.id == trigger_id)
        .values(last_scheduled_for=due)
        .returning(ActionTrigger.id)
    )
    return marked.scalar_one_or_none() is not None


def _due(trigger: ActionTrigger, now: dt.datetime) -> dt.datetime | None:
    try:
        checked = cron.check(trigger.cron or "", trigger.timezone or "UTC")
        return cron.latest_due(checked, now)
    except (ValueError, StopIteration):
        log.warning("trigger %s has a schedule that cannot be read; skipped", trigger.id)
        return None


def _matches(trigger: ActionTrigger, event: OutboxEvent) -> bool:
    wanted = (trigger.filter or {}).get("datasource")
    return wanted is None or wanted == event.datasource


async def _queued_counts(session: AsyncSession, action_ids: set[str]) -> dict[str, int]:
    if not action_ids:
        return {}
    rows = await session.execute(
        select(ActionRun.action_id, func.count())
        .where(ActionRun.action_id.in_(action_ids), ActionRun.status == RunStatus.QUEUED.value)
        .group_by(ActionRun.action_id)
    )
    return {action_id: int(count) for action_id, count in rows.all()}


async def dispatch(
    session: AsyncSession, now: dt.datetime, *, max_queued: int = MAX_QUEUED_RUNS
) -> int:
    """New events (locked: another process's tick skips them) each become one run per enabled
    trigger listening to them, then are marked dispatched, in the caller's transaction."""
    events = list(
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(EVENTS_PER_TICK)
            .with_for_update(skip_locked=True)
        )
    )
    if not events:
        return 0
    kinds = {event.kind for event in events}
    triggers = list(
        await session.scalars(
            select(ActionTrigger)
            .join(Action, Action.id == ActionTrigger.action_id)
            .where(
                Action.enabled.is_(True),
                ActionTrigger.type == TriggerType.EVENT.value,
                ActionTrigger.event.in_(kinds),
            )
        )
    )
    queued = await _queued_counts(session, {trigger.action_id for trigger in triggers})
    full: set[str] = set()
    made = 0
    for event in events:
        for trigger in triggers:
            if trigger.event != event.kind or not _matches(trigger, event):
                continue
            if queued.get(trigger.action_id, 0) >= max_queued:
                full.add(trigger.action_id)
                continue
            if await _event_run(session, trigger, event):
                made += 1
                queued[trigger.action_id] = queued.get(trigger.action_id, 0) + 1
    for action_id in sorted(full):
        log.warning(
            "action %s has %d queued runs (ACTIONS_MAX_QUEUED_RUNS): new events do not run it",
            action_id,
            max_queued,
        )
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([event.id for event in events]))
        .values(dispatched_at=now)
    )
    return made


async def _event_run(session: AsyncSession, trigger: ActionTrigger, event: OutboxEvent) -> bool:
    values = lifecycle.queued_values(
        trigger.action_id,
        TriggerType.EVENT.value,
        event_key(event.id),
        "event",
        event_id=event.id,
        # The payload, and which event it is (the body a webhook sends is typed by it).
        input={**(event.payload or {}), "event": event.kind},
    )
    return await insert_run(session, values)


async def purge(session: AsyncSession, now: dt.datetime, keep_days: int) -> None:
    """Ended runs older than `keep_days` (each action's latest kept) and events dispatched more
    than a day ago; in a transaction of its own (a tick's holds the actions its runs refer to)."""
    removed = await runs.purge(session, now - dt.timedelta(days=keep_days))
    await session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.dispatched_at.is_not(None),
            OutboxEvent.dispatched_at < now - DISPATCHED_KEEP,
        )
    )
    if removed:
        log.info("removed %d runs older than %d days", removed, keep_days)

"""Actions and runs as clients read them (backend.actions.schemas): secrets masked (an import's
header as {"name": ..., "set": true}, a signing secret as its hint), schedules in words with
their next times, each run with its deliveries. A page's triggers, latest runs and deliveries
are read in one query each."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import runs as run_queries
from backend.actions.models import Action, ActionDelivery, ActionRun, ActionTrigger
from backend.actions.schemas import (
    ActionCreatedOut,
    ActionOut,
    ActionPage,
    DeliveryOut,
    RunOut,
    RunPage,
    TriggerOut,
)
from backend.actions.triggers import ScheduleWords, describe

__all__ = [
    "ScheduleWords",
    "action_out",
    "action_outs",
    "action_page",
    "created_out",
    "delivery_out",
    "describe",
    "masked_params",
    "run_out",
    "run_outs",
    "run_page",
    "trigger_out",
]


def masked_params(action: Action) -> dict[str, Any]:
    params = dict(action.params or {})
    header = params.get("header")
    if isinstance(header, dict):
        params["header"] = {"name": header.get("name"), "set": action.secret_box is not None}
    return params


def trigger_out(trigger: ActionTrigger, now: dt.datetime | None = None) -> TriggerOut:
    out = TriggerOut(
        id=trigger.id,
        type=trigger.type,
        cron=trigger.cron,
        timezone=trigger.timezone,
        event=trigger.event,
        datasource=(trigger.filter or {}).get("datasource"),
    )
    if trigger.cron:
        try:
            said = describe(trigger.cron, trigger.timezone or "UTC", now)
        except ValueError:
            return out
        out.words, out.next_times = said.words, said.next
    return out


def delivery_out(row: ActionDelivery) -> DeliveryOut:
    return DeliveryOut(
        attempt=row.attempt,
        at=row.at,
        channel=row.channel,
        target=row.target,
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        response_head=row.response_head,
        error=row.error,
        refused=row.refused,
    )


def run_out(run: ActionRun, deliveries: Sequence[ActionDelivery] = ()) -> RunOut:
    return RunOut(
        id=run.id,
        action_id=run.action_id,
        trigger=run.trigger,
        status=run.status,
        scheduled_for=run.scheduled_for,
        attempts=run.attempts,
        deliveries=run.deliveries,
        next_attempt_at=run.next_attempt_at,
        output=run.output,
        error=run.error,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        delivery_log=[delivery_out(row) for row in deliveries],
        event=_event_of(run),
    )


_EVENT_FIELDS = ("task_id", "datasource", "filename")


def _event_of(run: ActionRun) -> dict[str, Any] | None:
    """The event an event run answered, in the few words a person needs to recognise it."""
    given = run.input or {}
    kind = given.get("event")
    if run.trigger != "event" or not isinstance(kind, str):
        return None
    return {"type": kind, **{key: given.get(key) for key in _EVENT_FIELDS}}


async def run_outs(session: AsyncSession, runs: Sequence[ActionRun]) -> list[RunOut]:
    """The runs with their deliveries (one query for all of them)."""
    found = await run_queries.deliveries_of(session, [run.id for run in runs])
    return [run_out(run, found.get(run.id, [])) for run in runs]


async def run_page(
    session: AsyncSession, runs: Sequence[ActionRun], total: int, *, limit: int, offset: int
) -> RunPage:
    return RunPage(items=await run_outs(session, runs), total=total, limit=limit, offset=offset)


async def _triggers_of(
    session: AsyncSession, action_ids: list[str]
) -> dict[str, list[ActionTrigger]]:
    found: dict[str, list[ActionTrigger]] = defaultdict(list)
    if action_ids:
        rows = await session.scalars(
            select(ActionTrigger)
            .where(ActionTrigger.action_id.in_(action_ids))
            .order_by(ActionTrigger.action_id, ActionTrigger.id)
        )
        for row in rows:
            found[row.action_id].append(row)
    return found


def action_out(
    action: Action,
    triggers: Sequence[ActionTrigger],
    last_run: RunOut | None = None,
    now: dt.datetime | None = None,
) -> ActionOut:
    return ActionOut(
        id=action.id,
        name=action.name,
        kind=action.kind,
        params=masked_params(action),
        triggers=[trigger_out(trigger, now) for trigger in triggers],
        enabled=action.enabled,
        owner=action.owner_name,
        secret_hint=action.secret_hint,
        created_at=action.created_at,
        updated_at=action.updated_at,
        last_run=last_run,
    )


async def action_outs(session: AsyncSession, actions: Sequence[Action]) -> list[ActionOut]:
    """The actions with their triggers and latest runs (a query each for the whole list)."""
    ids = [action.id for action in actions]
    triggers = await _triggers_of(session, ids)
    latest = await run_queries.latest_of(session, ids)
    last_runs = {out.action_id: out for out in await run_outs(session, list(latest.values()))}
    now = dt.datetime.now(dt.UTC)
    return [
        action_out(action, triggers.get(action.id, []), last_runs.get(action.id), now)
        for action in actions
    ]


async def action_page(
    session: AsyncSession, actions: Sequence[Action], total: int, *, limit: int, offset: int
) -> ActionPage:
    items = await action_outs(session, actions)
    return ActionPage(items=items, total=total, limit=limit, offset=offset)


async def created_out(
    session: AsyncSession, action: Action, secret: str | None
) -> ActionCreatedOut:
    """The creation's answer: the only one that carries the signing secret."""
    (out,) = await action_outs(session, [action])
    return ActionCreatedOut(**out.model_dump(), secret=secret)

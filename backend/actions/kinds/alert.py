"""An alert: a measure over a window ("yesterday", "last-7-days", counted in the alert's time
zone) compared with a threshold, or with the window of equal length just before (change_pct).

It fires once per change of state: the state (ok or firing) is kept in action_alert_state, and
the comparison, the new state, the owner's in-app notification and the run's checkpoint are one
transaction, the state's row locked. A run retried for its webhook (or sent again) finds its
evaluation in its output and only delivers; it never evaluates again.

An evaluation costs at most two engine queries (the window's measure with its row count beside
it, and for change_pct the window before), run within the service's query budget
(QUERY_TIMEOUT_SECONDS for both, QUERY_MAX_CELLS), as a GraphQL request's are."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import delivery
from backend.actions.kinds import Outcome, RunContext, event_body, message_id
from backend.actions.models import ActionAlertState
from backend.actions.schemas import AlertParams
from backend.analytics.budget import Budget, BudgetExceeded
from backend.analytics.periods import relative_days
from backend.analytics.query import TIME, Aggregate, FilterKind, Query, Result
from backend.analytics.query_input import build_query
from backend.analytics.service import Analytics, CacheTrace
from backend.auth.models import User
from backend.auth.roles import Role
from backend.config import Settings
from backend.errors import AppError
from backend.notifications import messages
from backend.notifications.models import NotificationKind
from backend.notifications.service import add
from backend.workbooks.documents import FilterIn, MeasureIn, WidgetQuery
from backend.workbooks.widget_data import Runs

OK, FIRING = "ok", "firing"
EVENT = "alert.fired"
_ROWS = "rows_in_the_alert_window"  # counted beside the measure: no rows, no value


@dataclass(frozen=True)
class Evaluation:
    """`firing` is None when the value (or the change) cannot be computed; `note` says why."""

    value: float | None
    baseline: float | None
    change_pct: float | None
    firing: bool | None
    note: str | None
    days: tuple[dt.date, dt.date]


_ZERO_WITHOUT_ROWS = frozenset({Aggregate.COUNT, Aggregate.COUNT_DISTINCT, Aggregate.SUM})


class AlertError(AppError):
    code = "alert_failed"


class Budgeted:
    """The analytics service as one evaluation uses it: its engine queries within one query
    budget (QUERY_TIMEOUT_SECONDS over them all, QUERY_MAX_CELLS, one at a time), counted in
    the engine's latency metric under `field`."""

    def __init__(self, analytics: Analytics, settings: Settings, field: str = "alert") -> None:
        self._analytics = analytics
        budget = Budget(settings.query_timeout_seconds, settings.query_max_cells, parallel=1)
        self.trace = CacheTrace(budget=budget)
        self._field = field

    async def columns(self, name: str) -> dict[str, str]:
        return await self._analytics.columns(name)

    async def run(self, query: Query) -> Result:
        return await self._analytics.run(query, self.trace, field=self._field)


def window_days(window: str, today: dt.date) -> tuple[dt.date, dt.date]:
    found = relative_days(window, today)
    if found is None or found[0] is None or found[1] is None:
        raise AlertError(
            f"the window {window!r} is not one an alert knows",
            "Choose a window such as yesterday or last-7-days.",
        )
    return found[0], found[1]


def window_before(days: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """The window of equal length that ends the day before `days` starts."""
    length = days[1] - days[0] + dt.timedelta(days=1)
    return days[0] - length, days[0] - dt.timedelta(days=1)


def today_in(zone_name: str, now: dt.datetime) -> dt.date:
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise AlertError(
            f"unknown time zone {zone_name[:70]!r}",
            "Give an IANA time zone name such as Europe/Paris or UTC.",
        ) from None
    return now.astimezone(zone).date()


async def measure(
    analytics: Runs, params: AlertParams, days: tuple[dt.date, dt.date]
) -> float | None:
    """The measure over the days (both included) with the alert's filters; None without rows."""
    columns = await analytics.columns(params.datasource)
    if TIME not in columns:
        raise AlertError(
            f"the datasource {params.datasource} has no time column to count a window on",
            "Alert on a datasource whose rows have a date.",
        )
    dated = FilterIn(kind=FilterKind.DATE_RANGE, column=TIME, values=[d.isoformat() for d in days])
    counted = MeasureIn(aggregate=Aggregate.COUNT, alias=_ROWS)
    query = WidgetQuery(
        datasource=params.datasource,
        measures=[params.measure, counted],
        filters=[*params.filters, dated],
        limit=1,
    )
    result = await analytics.run(build_query(query, columns))
    if not result.rows or not result.rows[0][-1]:
        # No rows: nothing sold is a count and a sum of 0 ("fewer than 10 sales yesterday"
        # holds on a day without sales); an average, a minimum or a maximum has no value.
        return 0.0 if params.measure.aggregate in _ZERO_WITHOUT_ROWS else None
    value = result.rows[0][-2]
    return None if value is None else float(value)


async def evaluate(analytics: Runs, params: AlertParams, now: dt.datetime) -> Evaluation:
    days = window_days(params.window, today_in(params.timezone, now))
    value = await measure(analytics, params, days)
    if value is None:
        note = f"There are no rows for {_when(params.window, days)}: the alert keeps its state."
        return Evaluation(None, None, None, None, note, days)
    condition = params.condition
    if condition.op == "above":
        return Evaluation(value, None, None, value > condition.value, None, days)
    if condition.op == "below":
        return Evaluation(value, None, None, value < condition.value, None, days)
    before = window_before(days)
    baseline = await measure(analytics, params, before)
    if not baseline:
        note = (
            f"The window before ({_when('', before)}) has no value to compare with: "
            "the alert keeps its state."
        )
        return Evaluation(value, baseline, None, None, note, days)
    change = (value - baseline) / abs(baseline) * 100
    return Evaluation(value, baseline, change, abs(change) > condition.value, None, days)


def _when(window: str, days: tuple[dt.date, dt.date]) -> str:
    span = days[0].isoformat() if days[0] == days[1] else f"{days[0]} to {days[1]}"
    return f"{window.replace('-', ' ')} ({span})" if window else span


def measure_name(params: AlertParams) -> str:
    m = params.measure
    return m.alias or (f"{m.aggregate.value} of {m.column}" if m.column else m.aggregate.value)


def condition_words(params: AlertParams, found: Evaluation) -> str:
    """How the value meets the condition, as the end of a sentence."""
    limit = messages.figure(params.condition.value)
    if params.condition.op == "above":
        return f"above {limit}"
    if params.condition.op == "below":
        return f"below {limit}"
    return (
        f"a change of {found.change_pct or 0:+.1f}% from {messages.figure(found.baseline)} "
        f"the window before (beyond ±{limit}%)"
    )


def summary(found: Evaluation, state: str, fired: bool) -> dict[str, Any]:
    """What every run's output says (value, baseline, change, state, fired)."""
    output: dict[str, Any] = {
        "value": found.value,
        "baseline": found.baseline,
        "change_pct": None if found.change_pct is None else round(found.change_pct, 4),
        "state": state,
        "fired": fired,
        "window": {"from": found.days[0].isoformat(), "to": found.days[1].isoformat()},
    }
    if found.note:
        output["note"] = found.note
    return output


async def _locked_state(
    session: AsyncSession, action_id: str, now: dt.datetime
) -> ActionAlertState:
    """The alert's state row, locked until the transaction ends (created as ok the first time)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(ActionAlertState)
        .values(action_id=action_id, state=OK, evaluated_at=now, changed_at=now)
        .on_conflict_do_nothing(index_elements=["action_id"])
    )
    query = select(ActionAlertState).where(ActionAlertState.action_id == action_id)
    return (await session.execute(query.with_for_update())).scalar_one()


async def record(ctx: RunContext, params: AlertParams, found: Evaluation) -> dict[str, Any]:
    """One transaction: the state compared and written; on ok -> firing, the owner's
    notification and the checkpoint. The run's output (with `alert`, the event, when fired)."""
    now = ctx.now
    async with ctx.transaction() as session:
        state = await _locked_state(session, ctx.action.id, now)
        state.evaluated_at = now
        if found.firing is None:
            return summary(found, state.state, False)
        new = FIRING if found.firing else OK
        state.value, state.baseline = found.value, found.baseline
        fired = state.state == OK and new == FIRING
        if new != state.state:
            state.state, state.changed_at = new, now
        output = summary(found, new, fired)
        if fired:
            output["alert"] = _event_data(ctx, params, found)
            await _notify(session, ctx, params, found)
            await ctx.checkpoint(session, output)
        return output


def _event_data(ctx: RunContext, params: AlertParams, found: Evaluation) -> dict[str, Any]:
    return {
        "action_id": ctx.action.id,
        "name": ctx.action.name,
        "datasource": params.datasource,
        "measure": measure_name(params),
        "window": params.window,
        "from": found.days[0].isoformat(),
        "to": found.days[1].isoformat(),
        "condition": params.condition.model_dump(mode="json"),
        "value": found.value,
        "baseline": found.baseline,
        "change_pct": found.change_pct,
        "state": FIRING,
    }


async def _notify(
    session: AsyncSession, ctx: RunContext, params: AlertParams, found: Evaluation
) -> None:
    if ctx.action.owner_user is None or found.value is None:
        return
    title = messages.alert_fired(
        ctx.action.name,
        measure_name(params),
        _when(params.window, found.days),
        found.value,
        condition_words(params, found),
    )
    people = User.id == ctx.action.owner_user
    await add(session, people, NotificationKind.ACTION_ALERT, title, link="/actions")


async def deliver(ctx: RunContext, params: AlertParams, output: dict[str, Any]) -> Outcome:
    """The webhook of a fired alert, when it has a url (signed like a webhook action's)."""
    data = output.get("alert")
    if not output.get("fired") or params.url is None or not isinstance(data, dict):
        return Outcome("succeeded", output=output)
    if ctx.action.secret is None:
        error = {
            "code": "no_secret",
            "message": "The alert has a url but no signing secret.",
            "hint": "Rotate the action's secret, then run it again.",
        }
        return Outcome("failed", output=output, error=error)
    body = event_body(EVENT, ctx.now, data)
    attempt = await delivery.post_event(
        ctx.services.outbound, params.url, ctx.action.secret, message_id(ctx.run.id), body
    )
    if attempt.ok:
        return Outcome("succeeded", output=output, attempts=[attempt])
    status: Literal["retry", "failed"] = "retry" if attempt.retryable else "failed"
    error = {
        "code": "delivery_failed",
        "message": attempt.error or f"The webhook answered {attempt.status_code}.",
        "hint": "Check that the url accepts the alert's POST.",
    }
    return Outcome(
        status, output=output, error=error, attempts=[attempt], retry_after=attempt.retry_after
    )


async def execute(ctx: RunContext) -> Outcome:
    params = AlertParams.model_validate(ctx.action.params)
    if params.url is not None and not ctx.owner.allows(Role.UPLOADER):
        hint = "Remove the url (the alert still notifies you in the app), or ask for the role."
        message = "Only uploaders and admins may have an alert call a url; its owner no longer is."
        return Outcome("failed", error={"code": "forbidden", "message": message, "hint": hint})
    if "state" in ctx.run.output:  # evaluated by an earlier attempt: deliver only
        return await deliver(ctx, params, dict(ctx.run.output))
    settings = ctx.services.settings
    try:
        found = await evaluate(Budgeted(ctx.services.analytics, settings), params, ctx.now)
    except BudgetExceeded:
        return Outcome("failed", error=_over_budget(settings))
    except AppError as exc:
        error = {"code": exc.code, "message": _sentence(exc.message), "hint": exc.detail or ""}
        return Outcome("failed", error=error)
    return await deliver(ctx, params, await record(ctx, params, found))


def _over_budget(settings: Settings) -> dict[str, str]:
    return {
        "code": "query_budget_exceeded",
        "message": "The alert's queries took more than the "
        f"{settings.query_timeout_seconds:g} s of analytics time a request may have "
        "(QUERY_TIMEOUT_SECONDS).",
        "hint": "Alert on a shorter window or with narrower filters, or ask an operator to "
        "raise QUERY_TIMEOUT_SECONDS.",
    }


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."

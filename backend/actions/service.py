"""Actions as their owners manage them: create, read, change, delete, run now, their runs, send
a run again, a new signing secret. The doors (REST, GraphQL, Sigma) call these, never the
models; every change is audited (without a secret), and everyone sees only their own actions
(admins all). Answers are built by backend.actions.answers."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete as delete_rows
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import access, lifecycle, mail, resend
from backend.actions import runs as run_queries
from backend.actions.answers import ScheduleWords, describe
from backend.actions.columns import check_columns
from backend.actions.delivery import new_secret
from backend.actions.models import Action, ActionKind, ActionRun, ActionTrigger, RunStatus
from backend.actions.schemas import (
    ActionIn,
    ActionPatch,
    EventTrigger,
    ScheduleTrigger,
    TriggerIn,
    parse_params,
)
from backend.actions.secrets import Cipher, hint
from backend.analytics.service import Analytics
from backend.auth.limits import TooManyRequests
from backend.auth.models import User
from backend.auth.principal import Principal
from backend.config_actions import ActionSettings
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput
from backend.ingestion.acceptance import WAKE_WORKERS
from backend.monitoring import audit
from backend.monitoring.models import AuditEvent
from backend.paging import check_page

__all__ = [
    "ScheduleWords",
    "create",
    "delete",
    "describe",
    "execute",
    "get",
    "listing",
    "redeliver",
    "rotate_secret",
    "runs",
    "update",
]
MAX_PAGE = 200
HOUR = dt.timedelta(hours=1)
MANUAL = ("execute_action", "redeliver_action_run")


def _limits(settings: ActionSettings | None) -> ActionSettings:
    # The defaults, without reading the environment, when the door passes no settings.
    return settings if settings is not None else ActionSettings.model_construct()


def _parsed(kind: ActionKind, params: dict[str, Any]) -> dict[str, Any]:
    """The kind's parameters checked (InvalidInput naming the field)."""
    try:
        checked: BaseModel = parse_params(kind, params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(
            f"params{'.' + where if where else ''}: {message}",
            f"Send the parameters a {kind.value} action takes (see the README's Actions section).",
        ) from None
    return checked.model_dump(mode="json", exclude_none=True)


def needs_signing(kind: str, params: dict[str, Any]) -> bool:
    """Webhooks always have a signing secret; alerts and reports when they post to a url."""
    return kind == ActionKind.WEBHOOK.value or (
        kind in (ActionKind.ALERT.value, ActionKind.REPORT.value) and bool(params.get("url"))
    )


def _seal_header(action: Action, params: dict[str, Any], cipher: Cipher) -> dict[str, Any]:
    """An import's header value goes in the box; the parameters keep its name only."""
    header = params.get("header")
    if not isinstance(header, dict) or "value" not in header:
        return params
    action.secret_box = cipher.seal(str(header["value"]))
    action.secret_hint = None
    return {**params, "header": {"name": header["name"]}}


def _new_signing_secret(action: Action, cipher: Cipher) -> str:
    secret = new_secret()
    action.secret_box = cipher.seal(secret)
    action.secret_hint = hint(secret)
    return secret


def _triggers(action_id: str, triggers: list[TriggerIn], since: Any = None) -> list[ActionTrigger]:
    """Rows for the triggers; `since`: the time a changed schedule counts from."""
    rows = []
    made = uuid.uuid4().hex[:24]  # ids in the order given: the answers list them by id
    for position, trigger in enumerate(triggers):
        row = ActionTrigger(id=f"{made}{position:08x}", action_id=action_id, type=trigger.type)
        if isinstance(trigger, ScheduleTrigger):
            row.cron, row.timezone = trigger.cron, trigger.timezone
            row.last_scheduled_for = since
        if isinstance(trigger, EventTrigger):
            row.event = trigger.event.value
            row.filter = {"datasource": trigger.datasource} if trigger.datasource else None
        rows.append(row)
    return rows


async def _email_of(session: AsyncSession, actor: Principal) -> str | None:
    user = await session.get(User, actor.user) if actor.user else None
    email = getattr(user, "email", None)  # the profile's e-mail, where the service has it
    return str(email) if email else None


async def _check_access(
    session: AsyncSession,
    actor: Principal,
    kind: str,
    params: dict[str, Any],
    limits: ActionSettings,
    analytics: Analytics | None = None,
) -> None:
    access.require_role(actor, kind, params)
    access.check_bucket(kind, params, limits.actions_s3_buckets)
    await access.require_kind_access(
        session,
        actor,
        kind,
        params,
        max_recipients=limits.actions_max_recipients,
        email=await _email_of(session, actor),
    )
    mail.check_recipients(kind, params, limits)  # ACTIONS_MAIL_DOMAINS (backend.actions.mail)
    await check_columns(kind, params, analytics)


async def _count_owned(session: AsyncSession, actor: Principal) -> int:
    owned = (
        Action.owner_user == actor.user if actor.user is not None else Action.owner_id == actor.id
    )
    return int(await session.scalar(select(func.count()).select_from(Action).where(owned)) or 0)


async def create(
    session: AsyncSession,
    actor: Principal,
    body: ActionIn,
    cipher: Cipher,
    *,
    settings: ActionSettings | None = None,
    analytics: Analytics | None = None,
) -> tuple[Action, str | None]:
    """A new action, owned by `actor`, and its signing secret (returned here only); `analytics`
    checks an alert's or a report's columns."""
    limits = _limits(settings)
    kind = ActionKind(body.kind)
    params = _parsed(kind, body.params)
    await _check_access(session, actor, kind.value, params, limits, analytics)
    access.check_schedules(body.triggers, limits.actions_min_interval_seconds, utcnow())
    if await _count_owned(session, actor) >= limits.actions_per_owner:
        raise Conflict(
            f"You own {limits.actions_per_owner} actions already, as many as one person may "
            "(ACTIONS_PER_OWNER).",
            "Delete actions you no longer need, then create this one.",
        )
    now = utcnow()
    action = Action(
        id=uuid.uuid4().hex,
        name=body.name,
        kind=kind.value,
        enabled=body.enabled,
        owner_user=actor.user,
        owner_id=actor.id[:128],
        owner_name=actor.name[:64],
        created_at=now,
        updated_at=now,
        enabled_at=now,
    )
    action.params = _seal_header(action, params, cipher)
    secret = _new_signing_secret(action, cipher) if needs_signing(kind.value, params) else None
    session.add(action)
    await session.flush()
    session.add_all(_triggers(action.id, body.triggers))
    audit.record(session, actor.label, "create_action", action.id, _audited(action))
    await session.flush()
    return action, secret


def _audited(action: Action, changed: Sequence[str] | None = None) -> dict[str, Any]:
    """What the audit log keeps of an action: never a secret (the params hold none)."""
    detail: dict[str, Any] = {"name": action.name, "kind": action.kind}
    if changed is not None:
        detail["changed"] = list(changed)
    return detail


async def get(session: AsyncSession, actor: Principal, action_id: str) -> Action:
    """The action, when it is `actor`'s (or `actor` is an admin); NotFound otherwise."""
    found = await session.get(Action, action_id[:32]) if action_id else None
    return access.require_visible(actor, found, action_id)


async def _locked(session: AsyncSession, actor: Principal, action_id: str) -> Action:
    """The action, held against other changes until the transaction ends: FOR NO KEY UPDATE
    (its key never changes), so a run writing a row that refers to it (KEY SHARE: an alert's
    state, an import's file) never waits for a change that waits for its run."""
    found = await session.get(
        Action, action_id[:32], with_for_update={"key_share": True}, populate_existing=True
    )
    return access.require_visible(actor, found, action_id)


async def listing(
    session: AsyncSession, actor: Principal, *, limit: int, offset: int
) -> tuple[list[Action], int]:
    """A page of the actions `actor` sees (newest first) and how many there are."""
    check_page(limit, offset, MAX_PAGE)
    where = access.visible(actor)
    total = await session.scalar(select(func.count()).select_from(Action).where(where))
    rows = await session.scalars(
        select(Action)
        .where(where)
        .order_by(Action.created_at.desc(), Action.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total or 0)


async def update(
    session: AsyncSession,
    actor: Principal,
    action_id: str,
    body: ActionPatch,
    cipher: Cipher,
    *,
    settings: ActionSettings | None = None,
    analytics: Analytics | None = None,
) -> Action:
    """Changes what the patch names (the kind never changes). New parameters replace the old
    ones, except an import's header left out keeps its stored value; enabling again counts
    schedules from now (missed times do not run)."""
    action = await _locked(session, actor, action_id)
    limits = _limits(settings)
    if body.triggers is not None:
        access.check_schedules(body.triggers, limits.actions_min_interval_seconds, utcnow())
    changed = [
        name for name in ("name", "params", "triggers", "enabled") if name in body.model_fields_set
    ]
    if body.params is not None:
        await _new_params(session, actor, action, body.params, cipher, limits, analytics)
    if body.name is not None:
        action.name = body.name
    now = utcnow()
    if body.enabled is not None and body.enabled != action.enabled:
        action.enabled = body.enabled
        if body.enabled:
            action.enabled_at = now
    if body.triggers is not None:
        await session.execute(
            delete_rows(ActionTrigger).where(ActionTrigger.action_id == action.id)
        )
        session.add_all(_triggers(action.id, body.triggers, since=now))
    action.updated_at = now
    audit.record(session, actor.label, "update_action", action.id, _audited(action, changed))
    await session.flush()
    return action


async def _new_params(
    session: AsyncSession,
    actor: Principal,
    action: Action,
    given: dict[str, Any],
    cipher: Cipher,
    limits: ActionSettings,
    analytics: Analytics | None,
) -> None:
    kind = ActionKind(action.kind)
    stored_header = (action.params or {}).get("header")
    if kind is ActionKind.IMPORT and "header" not in given and stored_header:
        _require_same_origin(action, given)
        # Checked with a stand-in value: the stored one stays sealed, never read here.
        given = {**given, "header": {**stored_header, "value": "kept"}}
        params = _parsed(kind, given)
        params["header"] = {"name": params["header"]["name"]}
    else:
        params = _parsed(kind, given)
        params = _seal_header(action, params, cipher)
        if kind is ActionKind.IMPORT and "header" not in params:
            action.secret_box = None
    await _check_access(session, actor, kind.value, params, limits, analytics)
    if needs_signing(kind.value, params) and action.secret_box is None:
        _new_signing_secret(action, cipher)  # shown by rotate-secret
    action.params = params


def _require_same_origin(action: Action, given: dict[str, Any]) -> None:
    """A kept header is sent only to the origin (scheme, host, port) it was given for."""
    if access.origin((action.params or {}).get("url")) != access.origin(given.get("url")):
        raise InvalidInput(
            "The address moved to another host, so the stored header is not sent there: give "
            "the header again, or remove it.",
            "Send params.header with its value again, or params without a header.",
        )


async def delete(session: AsyncSession, actor: Principal, action_id: str) -> None:
    """Deletes the action with its triggers, runs and their deliveries. Locks go in one order:
    the action (as any change holds it), then its runs, then the action's row for its deletion.
    A run's transaction holds its run's row before it refers to the action (RunContext.
    transaction), so a delete during a run waits for that transaction instead of deadlocking."""
    action = await _locked(session, actor, action_id)
    await run_queries.lock_of(session, action.id)
    audit.record(session, actor.label, "delete_action", action.id, _audited(action))
    await run_queries.delete_of(session, action.id)
    await session.execute(delete_rows(ActionTrigger).where(ActionTrigger.action_id == action.id))
    await session.delete(action)
    await session.flush()


async def _queued_manual(session: AsyncSession, action_id: str) -> ActionRun | None:
    return await session.scalar(
        select(ActionRun)
        .where(
            ActionRun.action_id == action_id,
            ActionRun.trigger == "manual",
            ActionRun.status == RunStatus.QUEUED.value,
        )
        .limit(1)
    )


async def _require_manual_budget(
    session: AsyncSession, action_id: str, limits: ActionSettings
) -> None:
    """TooManyRequests once the action had ACTIONS_MAX_MANUAL_PER_HOUR manual runs and
    sends-again in the last hour."""
    since = utcnow() - HOUR
    recent = select(AuditEvent.at).where(
        AuditEvent.at > since, AuditEvent.action.in_(MANUAL), AuditEvent.target == action_id
    )
    made = await session.scalar(select(func.count()).select_from(recent.subquery()))
    most = limits.actions_max_manual_per_hour
    if int(made or 0) < most:
        return
    oldest = await session.scalar(recent.order_by(AuditEvent.at).limit(1))
    wait = int((oldest + HOUR - utcnow()).total_seconds()) + 1 if oldest else 60
    raise TooManyRequests(
        f"This action was run or sent again {most} times in the last hour, as often as an "
        "action may be (ACTIONS_MAX_MANUAL_PER_HOUR).",
        "Wait a while, then run it again.",
        wait,
    )


async def execute(
    session: AsyncSession,
    actor: Principal,
    action_id: str,
    *,
    settings: ActionSettings | None = None,
) -> ActionRun:
    """A manual run, queued now (or the one still waiting: no second one); the workers are
    woken once the caller commits."""
    action = await _locked(session, actor, action_id)
    waiting = await _queued_manual(session, action.id)
    if waiting is not None:
        return waiting
    await _require_manual_budget(session, action.id, _limits(settings))
    run = lifecycle.create_run(
        session,
        action.id,
        "manual",
        f"manual:{uuid.uuid4().hex}",
        created_by=actor.id[:128],
    )
    audit.record(session, actor.label, "execute_action", action.id, {"run": run.id})
    session.info[WAKE_WORKERS] = True
    await session.flush()
    return run


async def runs(
    session: AsyncSession, actor: Principal, action_id: str, *, limit: int, offset: int
) -> tuple[list[ActionRun], int]:
    """A page of the action's runs, newest first, and how many it has (their deliveries:
    backend.actions.answers.run_outs, one query for the page)."""
    check_page(limit, offset, MAX_PAGE)
    action = await get(session, actor, action_id)
    return await run_queries.page(session, action.id, limit=limit, offset=offset)


async def redeliver(
    session: AsyncSession,
    actor: Principal,
    action_id: str,
    run_id: str,
    *,
    settings: ActionSettings | None = None,
) -> ActionRun:
    """ "Send again": an ended run back to the queue, with the same id (so the same
    webhook-id) and its deliveries counted afresh."""
    action = await _locked(session, actor, action_id)
    run = await session.get(ActionRun, run_id[:32], with_for_update=True, populate_existing=True)
    if run is None or run.action_id != action.id:
        raise access.run_not_found(run_id)
    if RunStatus(run.status) not in lifecycle.ENDED:
        raise Conflict(
            f"The run is {run.status}: only a run that has ended can be sent again.",
            "Wait until it succeeds or fails, then send it again.",
        )
    output = resend.output_to_send_again(action, run)
    await _require_manual_budget(session, action.id, _limits(settings))
    lifecycle.move_run(run, RunStatus.QUEUED, output=output)
    audit.record(session, actor.label, "redeliver_action_run", action.id, {"run": run.id})
    session.info[WAKE_WORKERS] = True
    await session.flush()
    return run


async def rotate_secret(
    session: AsyncSession, actor: Principal, action_id: str, cipher: Cipher
) -> str:
    """A new signing secret (the old one stops working now), returned this once."""
    action = await _locked(session, actor, action_id)
    if not needs_signing(action.kind, action.params or {}):
        raise Conflict(
            "This action sends nothing signed, so it has no signing secret.",
            "Webhooks have one; alerts and reports have one when they post to a url.",
        )
    secret = _new_signing_secret(action, cipher)
    action.updated_at = utcnow()
    audit.record(session, actor.label, "rotate_action_secret", action.id, _audited(action))
    await session.flush()
    return secret

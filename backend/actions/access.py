"""Who may do what with actions: the role each kind needs, whose actions a caller sees, and the
owner rebuilt as a principal from the users table when a run starts (so a disabled owner or
one who lost the role runs nothing)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import cron
from backend.actions.models import Action, ActionKind
from backend.actions.schemas import ScheduleTrigger, TriggerIn
from backend.auth.models import User
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.ingestion import access as ingestion_access
from backend.workbooks import store as workbook_store


def required_role(kind: str, params: dict[str, Any]) -> Role:
    """Imports and webhooks, and any alert or report sent to a url: uploaders; alerts and
    e-mailed reports: viewers."""
    if kind in (ActionKind.IMPORT.value, ActionKind.WEBHOOK.value) or params.get("url"):
        return Role.UPLOADER
    return Role.VIEWER


def _what(kind: str, params: dict[str, Any]) -> str:
    if kind in (ActionKind.IMPORT.value, ActionKind.WEBHOOK.value):
        return f"{kind} actions"
    return f"{kind}s sent to a url" if params.get("url") else f"{kind}s"


def require_role(actor: Principal, kind: str, params: dict[str, Any]) -> None:
    needed = required_role(kind, params)
    if not actor.allows(needed):
        raise Forbidden(
            f"Only {needed.value}s and admins may create {_what(kind, params)}.",
            "Ask an admin for the uploader role, or create an alert or an e-mailed report "
            "for yourself.",
        )


def is_admin(actor: Principal) -> bool:
    return actor.allows(Role.ADMIN)


def owns(actor: Principal, action: Action) -> bool:
    """A user's actions are theirs through any of their tokens or sessions; a caller without a
    user (the service) by its principal's id."""
    if actor.user is not None:
        return action.owner_user == actor.user
    return action.owner_user is None and action.owner_id == actor.id


def visible(actor: Principal) -> ColumnElement[bool]:
    """The actions `actor` lists: admins all, everyone else their own."""
    if is_admin(actor):
        return true()
    if actor.user is not None:
        return Action.owner_user == actor.user
    return (Action.owner_user.is_(None)) & (Action.owner_id == actor.id)


def not_found(action_id: str) -> NotFound:
    return NotFound(
        f"No action {action_id[:40]!r} is yours to see.",
        "GET /api/actions lists your actions; check the id.",
    )


def require_visible(actor: Principal, action: Action | None, action_id: str) -> Action:
    """The action, when `actor` may see it (its owner or an admin); NotFound otherwise, as if
    it did not exist."""
    if action is None or not (is_admin(actor) or owns(actor, action)):
        raise not_found(action_id)
    return action


async def require_kind_access(
    session: AsyncSession,
    actor: Principal,
    kind: str,
    params: dict[str, Any],
    *,
    max_recipients: int,
    email: str | None,
) -> None:
    """What the kind's parameters reach: an import's datasource (write access), a report's
    workbook (read access) and recipients (a viewer's own address only)."""
    if kind == ActionKind.IMPORT.value:
        datasource = str(params["datasource"])
        # A datasource nobody has yet becomes the owner's, as a first upload makes it.
        await ingestion_access.require_write(
            session, datasource, actor, "import into it", claim_new=True
        )
    if kind == ActionKind.REPORT.value:
        await _check_report(session, actor, params, max_recipients=max_recipients, email=email)


async def _check_report(
    session: AsyncSession,
    actor: Principal,
    params: dict[str, Any],
    *,
    max_recipients: int,
    email: str | None,
) -> None:
    if params.get("workbook_id"):
        await workbook_store.visible(session, actor, str(params["workbook_id"]))
    to = [str(address) for address in params.get("to") or []]
    if len(to) > max_recipients:
        raise InvalidInput(
            f"A report may be sent to at most {max_recipients} addresses (ACTIONS_MAX_RECIPIENTS).",
            "Send it to fewer addresses, or to a mailing list.",
        )
    if to and not actor.allows(Role.UPLOADER):
        own = (email or "").casefold()
        if not own or any(address.casefold() != own for address in to):
            raise Forbidden(
                "A viewer's report is sent only to their own e-mail address.",
                "Set your e-mail address in your profile and send the report to it, or ask an "
                "admin for the uploader role.",
            )


def check_schedules(triggers: Sequence[TriggerIn], min_seconds: int, now: dt.datetime) -> None:
    """InvalidInput when a schedule's times come closer than ACTIONS_MIN_INTERVAL_SECONDS (the
    shortest gap among its next times)."""
    for trigger in triggers:
        if not isinstance(trigger, ScheduleTrigger):
            continue
        schedule = cron.check(trigger.cron, trigger.timezone)
        gap = int(cron.shortest_gap(schedule, now).total_seconds())
        if gap < min_seconds:
            raise InvalidInput(
                f"This schedule runs every {cron.span(max(gap, 1))}; actions run at most every "
                f"{cron.span(min_seconds)} (ACTIONS_MIN_INTERVAL_SECONDS).",
                "Choose a schedule that runs less often, such as '0 * * * *' (every hour), or "
                "ask an operator to lower ACTIONS_MIN_INTERVAL_SECONDS.",
            )


def check_bucket(kind: str, params: dict[str, Any], buckets: Sequence[str]) -> None:
    """An S3 import's bucket must be one ACTIONS_S3_BUCKETS names."""
    uri = params.get("s3_uri") if kind == ActionKind.IMPORT.value else None
    if not uri:
        return
    bucket = urlsplit(str(uri)).netloc
    if bucket not in buckets:
        raise InvalidInput(
            f"Imports may not read the bucket {bucket[:63]!r}: it is not one the service "
            "allows (ACTIONS_S3_BUCKETS).",
            "Import from a bucket an administrator allowed, or ask one to add this bucket to "
            "ACTIONS_S3_BUCKETS.",
        )


def origin(url: object) -> tuple[str, str, int | None]:
    """A url's scheme, host and port (the port a scheme implies when none is given)."""
    parts = urlsplit(str(url or ""))
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port or default
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _kind_of(owner_id: str) -> str:
    prefix, _, rest = owner_id.partition(":")
    return prefix if rest and prefix in ("token", "jwt", "session") else "session"


async def owner_principal(session: AsyncSession, action: Action) -> Principal:
    """The action's owner as a principal now, from the users table: Forbidden (with the
    reason) when the owner was deleted, is disabled, or no longer has the role the action
    needs; an import's datasource must still be writable by them."""
    user = await session.get(User, action.owner_user) if action.owner_user else None
    if user is None:
        raise Forbidden(
            "The action's owner no longer exists, so it cannot run.",
            "An admin may delete the action; someone else can create it again.",
        )
    if user.disabled_at is not None:
        raise Forbidden(
            f"The action's owner {user.name!r} is disabled, so it cannot run.",
            "An admin may enable the user again (python -m backend users enable) or delete "
            "the action.",
        )
    role = Role(user.role) if user.role else None
    principal = Principal(
        id=action.owner_id, name=user.name, role=role, kind=_kind_of(action.owner_id), user=user.id
    )
    needed = required_role(action.kind, action.params or {})
    if not principal.allows(needed):
        raise Forbidden(
            f"The action's owner {user.name!r} no longer has the {needed.value} role it needs, "
            "so it cannot run.",
            "An admin may give the role back, or the owner may change the action.",
        )
    if action.kind == ActionKind.IMPORT.value:
        datasource = str((action.params or {}).get("datasource", ""))
        await ingestion_access.require_write(
            session, datasource, principal, "import into it", claim_new=True
        )
    return principal


def run_not_found(run_id: str) -> NotFound:
    return NotFound(
        f"This action has no run {run_id[:40]!r}.",
        "GET /api/actions/{id}/runs lists the action's runs; check the id.",
    )

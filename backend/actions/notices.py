"""An action's owner is told in the app when its runs start failing: once when a run fails after
one that did not (a schedule failing every minute says so once, not every minute)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions.models import Action, ActionRun, RunStatus
from backend.auth.models import User
from backend.notifications import messages
from backend.notifications.models import NotificationKind
from backend.notifications.service import add


async def run_failed(session: AsyncSession, run_id: str, error: dict[str, Any] | None) -> None:
    """In the transaction that ends the run failed."""
    found = (
        await session.execute(
            select(Action.id, Action.name, Action.owner_user)
            .join(ActionRun, ActionRun.action_id == Action.id)
            .where(ActionRun.id == run_id)
        )
    ).one_or_none()
    if found is None or found.owner_user is None:
        return
    before = await session.scalar(
        select(ActionRun.status)
        .where(
            ActionRun.action_id == found.id,
            ActionRun.id != run_id,
            ActionRun.finished_at.is_not(None),
        )
        .order_by(ActionRun.finished_at.desc())
        .limit(1)
    )
    if before == RunStatus.FAILED.value:
        return
    reason = str((error or {}).get("message") or "The run did not say why.")
    hint = (error or {}).get("hint")
    await add(
        session,
        User.id == found.owner_user,
        NotificationKind.ACTION_FAILED,
        messages.action_failed(found.name, reason),
        body=str(hint) if hint else None,
        link="/actions",
    )

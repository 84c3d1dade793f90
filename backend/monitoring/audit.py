"""The audit log: who did what, when (uploads, retries, cancels, mode changes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.monitoring.models import AuditEvent
from backend.paging import check_page

MAX_PAGE = 500


def record(
    session: AsyncSession,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Adds the entry to the caller's transaction: it lands if and only if the action does."""
    session.add(AuditEvent(at=utcnow(), actor=actor, action=action, target=target, detail=detail))


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int


async def entries(
    session: AsyncSession, *, action: str | None = None, limit: int = 50, offset: int = 0
) -> AuditPage:
    check_page(limit, offset, MAX_PAGE)
    conditions = [AuditEvent.action == action] if action else []
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = await session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return AuditPage(list(rows.all()), int(total or 0))

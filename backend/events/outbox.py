"""Writing an event: in the caller's transaction, so it exists exactly when its cause does."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.events.models import EventKind, OutboxEvent

MAX_PAYLOAD_KEYS = 50


def emit(
    session: AsyncSession,
    kind: EventKind,
    *,
    subject: str | None = None,
    datasource: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Adds the event to the session: it is written when (and only if) the caller commits."""
    data = dict(list((payload or {}).items())[:MAX_PAYLOAD_KEYS])
    session.add(OutboxEvent(kind=kind.value, subject=subject, datasource=datasource, payload=data))

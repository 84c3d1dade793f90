"""The audit log: who did what, when (uploads, retries, cancels, mode changes, refusals).

Read a page at a time, newest first, optionally narrowed to the entries whose actor, action or
target starts with a search text, whatever its case: a prefix match (`lower(column) LIKE
'text%'`), which PostgreSQL's indexes on lower(actor), lower(action) and lower(target) serve
(alembic 20261205_0014)."""

from __future__ import annotations

import collections
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import InvalidInput
from backend.monitoring.models import AuditEvent
from backend.paging import check_page

MAX_PAGE = 500
REFUSAL_QUIET_SECONDS = 300.0  # the same refusal again within this time is not written again
REFUSALS_KEPT = 10_000
MAX_SEARCH = 100  # characters: longer than any actor, action or target worth typing
_ESCAPE = "\\"


def record(
    session: AsyncSession,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Adds the entry to the caller's transaction: it lands if and only if the action does."""
    session.add(AuditEvent(at=utcnow(), actor=actor, action=action, target=target, detail=detail))


class RecentRefusals:
    """The refusals written lately (one per app), so that a refusal repeated by the same caller
    at the same door is written once per REFUSAL_QUIET_SECONDS, not once per request: a page
    loaded with a stale token sends a GraphQL request per widget (a row each, before), and a
    page polls what its viewer may not read every few seconds. Only a digest of each key is
    kept (a key may hold a credential)."""

    def __init__(self, quiet: float = REFUSAL_QUIET_SECONDS, kept: int = REFUSALS_KEPT) -> None:
        self.quiet = quiet
        self.kept = kept
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()

    def first(self, *key: str | None) -> bool:
        """True when this refusal is to be written (not seen within the quiet time)."""
        now = time.monotonic()
        digest = hashlib.sha256("\x00".join(k or "" for k in key).encode()).hexdigest()
        last = self._seen.get(digest)
        if last is not None and now - last < self.quiet:
            return False
        self._seen[digest] = now
        self._seen.move_to_end(digest)
        while len(self._seen) > self.kept:
            self._seen.popitem(last=False)
        return True


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    total: int
    next_offset: int | None  # None: this is the last page


def prefix_pattern(text: str) -> str:
    """A LIKE pattern matching what starts with `text` literally: its %, _ and the escape
    character itself stand for themselves."""
    escaped = text.replace(_ESCAPE, _ESCAPE * 2).replace("%", f"{_ESCAPE}%")
    return escaped.replace("_", f"{_ESCAPE}_") + "%"


def check_search(search: str | None) -> str | None:
    """The search text to match, or None for every entry (blank counts as none)."""
    if search is None or not search.strip():
        return None
    if len(search) > MAX_SEARCH:
        raise InvalidInput(
            f"the search text is at most {MAX_SEARCH} characters long (got {len(search)})",
            "Type the start of a name, an action or a target.",
        )
    return search.strip()


def _conditions(action: str | None, search: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [AuditEvent.action == action] if action else []
    if search is not None:
        pattern = prefix_pattern(search)
        conditions.append(
            or_(
                *(
                    func.lower(column).like(func.lower(pattern), escape=_ESCAPE)
                    for column in (AuditEvent.actor, AuditEvent.action, AuditEvent.target)
                )
            )
        )
    return conditions


async def entries(
    session: AsyncSession,
    *,
    action: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    check_page(limit, offset, MAX_PAGE)
    conditions = _conditions(action, check_search(search))
    total = int(
        await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    )
    rows = await session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    following = offset + limit
    return AuditPage(list(rows.all()), total, following if following < total else None)

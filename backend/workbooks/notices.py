"""Who a save notifies: the people a workbook is newly shared with by name, and those who
favorited it (and may still see it), never the person who saved it. Written in the save's
transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.notifications import service as notifications
from backend.workbooks.documents import Document
from backend.workbooks.models import Workbook, WorkbookFavorite


def named(document: Document | None) -> set[str]:
    """The handles a document shares with by name (none unless its visibility is `users`)."""
    if document is None or document.visibility != "users":
        return set()
    return set(document.shared_with)


def may_see(handle: str, row: Workbook, document: Document) -> bool:
    """Whether `handle` sees the saved workbook as a person (backend.workbooks.rules)."""
    return handle == row.owner or document.visibility == "shared" or handle in named(document)


async def saved(
    session: AsyncSession,
    principal: Principal,
    row: Workbook,
    before: Document | None,
    after: Document,
    changed: list[str],
) -> None:
    """Notifies the people `after` newly shares the workbook with, and its followers of a change."""
    newly = named(after) - named(before) - {principal.name}
    await notifications.workbook_shared(session, principal.name, (row.id, row.title), newly)
    if before is None or not changed:
        return
    found = await session.execute(
        select(WorkbookFavorite.handle).where(WorkbookFavorite.workbook_id == row.id)
    )
    followers = {
        handle
        for handle in found.scalars()
        if handle != principal.name and handle not in newly and may_see(handle, row, after)
    }
    await notifications.workbook_changed(
        session, principal.name, (row.id, row.title), followers, changed
    )

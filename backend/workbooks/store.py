"""Reading and writing a workbook's rows: its links (tags, shares), its search text, and its
answer (with tags, shares, view and favorite counts, read for a whole page at once)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.auth.principal import Principal
from backend.workbooks.documents import Document, WorkbookOut
from backend.workbooks.models import (
    Tag,
    Workbook,
    WorkbookFavorite,
    WorkbookShare,
    WorkbookTag,
    WorkbookViewer,
)
from backend.workbooks.rules import can_see, not_found


def dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _links(
    session: AsyncSession, table: Any, column: Any, ids: Sequence[str]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(table.workbook_id, column).where(table.workbook_id.in_(ids)).order_by(column)
    )
    for workbook_id, value in rows:
        found[workbook_id].append(value)
    return found


async def tags_of(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    return await _links(session, WorkbookTag, WorkbookTag.tag, ids)


async def shares_of(session: AsyncSession, ids: Sequence[str]) -> dict[str, list[str]]:
    return await _links(session, WorkbookShare, WorkbookShare.handle, ids)


Hold = Literal["refer", "change", "delete"]
# How `visible` holds the workbook's row until the transaction ends (PostgreSQL's row locks;
# SQLite has one writer at a time): FOR KEY SHARE to write rows that refer to it (views,
# favorites), which waits for a delete and then finds nothing, instead of failing on the foreign
# key or deadlocking with the delete's cascade; FOR NO KEY UPDATE to change it (its key never
# changes, so a view is not held up); FOR UPDATE to delete it.
HOLDS: dict[Hold, tuple[bool, bool]] = {  # (read, key_share) of SQLAlchemy's with_for_update
    "refer": (True, True),
    "change": (False, True),
    "delete": (False, False),
}


async def visible(
    session: AsyncSession, principal: Principal, workbook_id: str, *, hold: Hold | None = None
) -> Workbook:
    """The workbook, if the caller may see it; else NotFound (whether it exists or not)."""
    query = select(Workbook).where(Workbook.id == workbook_id)
    if hold is not None:
        read, key_share = HOLDS[hold]
        query = query.with_for_update(read=read, key_share=key_share)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise not_found(workbook_id)
    shares = (await shares_of(session, [row.id])).get(row.id, [])
    if not can_see(principal, row, shares):
        raise not_found(workbook_id)
    return row


async def document_of(session: AsyncSession, row: Workbook) -> Document:
    tags = (await tags_of(session, [row.id])).get(row.id, [])
    shares = (await shares_of(session, [row.id])).get(row.id, [])
    return _document(row, tags, shares)


def _document(row: Workbook, tags: list[str], shares: list[str]) -> Document:
    return Document.model_validate(
        {
            "title": row.title,
            "description": row.description,
            "datasource": row.datasource,
            "filters": row.filters,
            "widgets": row.widgets,
            "tags": tags,
            "visibility": row.visibility,
            "shared_with": shares,
        }
    )


def search_text(document: Document) -> str:
    return " ".join([document.title, document.description, *document.tags])


async def write(session: AsyncSession, row: Workbook, document: Document) -> None:
    """`document` into `row` and its links (tags created on first use), and its search text."""
    row.title, row.description = document.title, document.description
    row.datasource, row.visibility = document.datasource, document.visibility
    row.filters = document.filters
    row.widgets = [w.model_dump(mode="json") for w in document.widgets]
    row.search_text = search_text(document)
    session.add(row)
    await session.flush()
    for table in (WorkbookTag, WorkbookShare):
        await session.execute(delete(table).where(table.workbook_id == row.id))
    tags = sorted(set(document.tags))
    known = set((await session.execute(select(Tag.name).where(Tag.name.in_(tags)))).scalars())
    session.add_all(Tag(name=name) for name in tags if name not in known)
    await session.flush()
    session.add_all(WorkbookTag(workbook_id=row.id, tag=name) for name in tags)
    session.add_all(
        WorkbookShare(workbook_id=row.id, handle=h) for h in sorted(set(document.shared_with))
    )
    await _index(session, row)
    await session.flush()


async def _index(session: AsyncSession, row: Workbook) -> None:
    """SQLite keeps an FTS5 table beside the rows; PostgreSQL indexes `search_text` itself."""
    if dialect(session) != "sqlite":
        return
    await unindex(session, row.id)
    await session.execute(
        text("INSERT INTO workbook_fts (workbook_id, body) VALUES (:id, :body)"),
        {"id": row.id, "body": row.search_text},
    )


async def unindex(session: AsyncSession, workbook_id: str) -> None:
    if dialect(session) == "sqlite":
        await session.execute(
            text("DELETE FROM workbook_fts WHERE workbook_id = :id"), {"id": workbook_id}
        )


async def _counts(
    session: AsyncSession, table: Any, column: Any, ids: Sequence[str]
) -> dict[str, int]:
    rows = await session.execute(
        select(table.workbook_id, column)
        .where(table.workbook_id.in_(ids))
        .group_by(table.workbook_id)
    )
    return {workbook_id: int(value or 0) for workbook_id, value in rows}


async def display_names(session: AsyncSession, handles: set[str]) -> dict[str, str]:
    """The display names of the users with these handles, in one query (a handle with no user,
    a workbook saved by a token from before users existed, is left out)."""
    rows = await session.execute(
        select(User.name, User.display_name).where(User.name.in_(sorted(handles)))
    )
    return {str(name): str(display) for name, display in rows}


async def answers(
    session: AsyncSession, rows: Sequence[Workbook], principal: Principal
) -> list[WorkbookOut]:
    """The rows as clients read them, with what is linked to them, in a few queries."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    tags, shares = await tags_of(session, ids), await shares_of(session, ids)
    names = await display_names(session, {row.owner for row in rows})
    views = await _counts(session, WorkbookViewer, func.sum(WorkbookViewer.count), ids)
    favorites = await _counts(session, WorkbookFavorite, func.count(WorkbookFavorite.handle), ids)
    mine = set(
        (
            await session.execute(
                select(WorkbookFavorite.workbook_id).where(
                    WorkbookFavorite.workbook_id.in_(ids), WorkbookFavorite.handle == principal.name
                )
            )
        ).scalars()
    )
    return [
        WorkbookOut(
            **_document(row, tags.get(row.id, []), shares.get(row.id, [])).model_dump(),
            id=row.id,
            owner=row.owner,
            owner_display_name=names.get(row.owner, row.owner),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            views=views.get(row.id, 0),
            favorites=favorites.get(row.id, 0),
            favorited=row.id in mine,
        )
        for row in rows
    ]

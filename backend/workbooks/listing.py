"""Finding workbooks: a filtered, searched, sorted page of those the caller may see, the home
feed, the most used tags; and what people do to one: favorite it, view it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, exists, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.auth.schemas import PublicUserOut
from backend.db import utcnow
from backend.paging import check_page
from backend.workbooks import store
from backend.workbooks.documents import (
    PROFILE_WORKBOOKS,
    FeedOut,
    PublicProfileOut,
    TagOut,
    ViewOut,
    WorkbookOut,
    WorkbookPageOut,
    WorkbookSummaryOut,
)
from backend.workbooks.models import (
    Workbook,
    WorkbookFavorite,
    WorkbookTag,
    WorkbookViewer,
    WorkbookViewEvent,
)
from backend.workbooks.rules import seen_as_person, visible_clause

Sort = Literal["recent", "popular", "title"]
POPULAR_DAYS = 30
VIEW_EVERY = dt.timedelta(minutes=1)  # one counted view per person per minute at most
FEED_SIZE = 10
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Criteria:
    tags: tuple[str, ...] = ()
    author: str | None = None
    q: str | None = None
    favorites: bool = False
    datasource: str | None = None
    sort: Sort = "recent"
    others_only: bool = False  # not the caller's own
    viewed_only: bool = False  # viewed in the last POPULAR_DAYS days
    as_person: bool = False  # never another person's private ones, even to an admin


def _search(session: AsyncSession, q: str) -> ColumnElement[bool] | None:
    """Full-text search over title, description and tags: SQLite's FTS5 (each word quoted, so
    nothing the user types is FTS syntax) or PostgreSQL's plainto_tsquery; every word must match."""
    words = _WORD.findall(q)[:20]
    if not words:
        return None
    if store.dialect(session) == "sqlite":
        matching = text(
            "SELECT workbook_id FROM workbook_fts WHERE workbook_fts MATCH :fts"
        ).bindparams(fts=" ".join(f'"{word}"' for word in words))
        return Workbook.id.in_(matching.columns(workbook_id=String))
    simple: ColumnElement[Any] = literal_column("'simple'::regconfig")
    document = func.to_tsvector(simple, Workbook.search_text)
    return document.op("@@")(func.plainto_tsquery(simple, " ".join(words)))


def _since() -> dt.datetime:
    return utcnow() - dt.timedelta(days=POPULAR_DAYS)


def _conditions(
    session: AsyncSession, principal: Principal, criteria: Criteria
) -> list[ColumnElement[bool]]:
    where = [seen_as_person(principal) if criteria.as_person else visible_clause(principal)]
    for tag in criteria.tags:
        # IN, not a correlated EXISTS: the tag's index finds its few workbooks (an EXISTS was
        # checked on every visible workbook, in the sort's order).
        where.append(Workbook.id.in_(select(WorkbookTag.workbook_id).where(WorkbookTag.tag == tag)))
    if criteria.author is not None:
        where.append(Workbook.owner == criteria.author)
    if criteria.others_only:
        where.append(Workbook.owner != principal.name)
    if criteria.datasource is not None:
        where.append(Workbook.datasource == criteria.datasource)
    if criteria.favorites:
        where.append(
            exists().where(
                WorkbookFavorite.workbook_id == Workbook.id,
                WorkbookFavorite.handle == principal.name,
            )
        )
    if criteria.q:
        found = _search(session, criteria.q)
        if found is not None:
            where.append(found)
    return where


def _sorted(query: Select[Any], criteria: Criteria) -> Select[Any]:
    if criteria.sort == "title":
        return query.order_by(func.lower(Workbook.title), Workbook.id)
    if criteria.sort == "recent":
        return query.order_by(Workbook.updated_at.desc(), Workbook.id)
    views = (
        select(WorkbookViewEvent.workbook_id, func.count().label("views"))
        .where(WorkbookViewEvent.viewed_at >= _since())
        .group_by(WorkbookViewEvent.workbook_id)
        .subquery()
    )
    joined = query.join(views, views.c.workbook_id == Workbook.id, isouter=not criteria.viewed_only)
    return joined.order_by(
        func.coalesce(views.c.views, 0).desc(), Workbook.updated_at.desc(), Workbook.id
    )


async def page(
    session: AsyncSession, principal: Principal, criteria: Criteria, limit: int, offset: int
) -> WorkbookPageOut:
    """The workbooks the caller may see that meet `criteria`, sorted, one page."""
    check_page(limit, offset, 200)
    where = _conditions(session, principal, criteria)
    counted = select(func.count(Workbook.id)).where(*where)
    if criteria.viewed_only:  # only then does the sort's join change which rows there are
        counted = _sorted(counted, criteria).order_by(None)
    total = (await session.execute(counted)).scalar_one()
    rows = await session.execute(
        _sorted(select(Workbook).where(*where), criteria).limit(limit).offset(offset)
    )
    items = await store.answers(session, list(rows.scalars()), principal)
    more = offset + len(items) < total
    return WorkbookPageOut(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + len(items) if more else None,
    )


async def feed(session: AsyncSession, principal: Principal) -> FeedOut:
    """My recent workbooks, my favorites, popular ones, and others' I may see, newest first:
    each what the caller sees as a person (an admin's feed holds no other person's private
    workbook, as a profile does not)."""

    async def first(criteria: Criteria) -> list[WorkbookOut]:
        return (await page(session, principal, criteria, FEED_SIZE, 0)).items

    return FeedOut(
        recent=await first(Criteria(author=principal.name, as_person=True)),
        favorites=await first(Criteria(favorites=True, as_person=True)),
        popular=await first(Criteria(sort="popular", viewed_only=True, as_person=True)),
        shared_with_me=await first(Criteria(others_only=True, as_person=True)),
    )


async def tags(session: AsyncSession, principal: Principal, limit: int) -> list[TagOut]:
    """The most used tags on the workbooks the caller sees as a person (an admin's chips count
    no other person's private workbook, nor name its tags)."""
    check_page(limit, 0, 100)
    used = func.count(WorkbookTag.workbook_id)
    rows = await session.execute(
        select(WorkbookTag.tag, used)
        .join(Workbook, Workbook.id == WorkbookTag.workbook_id)
        .where(seen_as_person(principal))
        .group_by(WorkbookTag.tag)
        .order_by(used.desc(), WorkbookTag.tag)
        .limit(limit)
    )
    return [TagOut(name=name, count=count) for name, count in rows]


async def profile(
    session: AsyncSession, principal: Principal, person: PublicUserOut
) -> PublicProfileOut:
    """`person`'s public profile with their most recently changed workbooks that the caller
    sees as a person (never another person's private ones, whatever the caller's role)."""
    where = (Workbook.owner == person.name, seen_as_person(principal))
    count = await session.execute(select(func.count(Workbook.id)).where(*where))
    rows = await session.execute(
        select(Workbook.id, Workbook.title, Workbook.updated_at)
        .where(*where)
        .order_by(Workbook.updated_at.desc(), Workbook.id)
        .limit(PROFILE_WORKBOOKS)
    )
    return PublicProfileOut(
        **person.model_dump(),
        workbooks=[WorkbookSummaryOut(id=i, title=t, updated_at=u) for i, t, u in rows],
        workbook_count=count.scalar_one(),
    )


async def favorite(
    session: AsyncSession, principal: Principal, workbook_id: str, on: bool
) -> WorkbookOut:
    """Marks (or unmarks) the workbook as one of the caller's favorites; doing it twice is
    doing it once."""
    row = await store.visible(session, principal, workbook_id, hold="refer")
    found = await session.get(WorkbookFavorite, (row.id, principal.name))
    if on and found is None:
        session.add(WorkbookFavorite(workbook_id=row.id, handle=principal.name))
    elif not on and found is not None:
        await session.delete(found)
    await session.flush()
    return (await store.answers(session, [row], principal))[0]


async def view(session: AsyncSession, principal: Principal, workbook_id: str) -> ViewOut:
    """Counts a view of the workbook, at most one per person per minute."""
    row = await store.visible(session, principal, workbook_id, hold="refer")
    now = utcnow()
    mine = await session.get(WorkbookViewer, (row.id, principal.name), with_for_update=True)
    counted = mine is None or now - mine.last_viewed >= VIEW_EVERY
    if mine is None:
        session.add(
            WorkbookViewer(workbook_id=row.id, handle=principal.name, count=1, last_viewed=now)
        )
    elif counted:
        mine.count, mine.last_viewed = mine.count + 1, now
    if counted:
        session.add(WorkbookViewEvent(workbook_id=row.id, handle=principal.name, viewed_at=now))
    await session.flush()
    total = await session.execute(
        select(func.coalesce(func.sum(WorkbookViewer.count), 0)).where(
            WorkbookViewer.workbook_id == row.id
        )
    )
    return ViewOut(counted=counted, views=int(total.scalar_one()))

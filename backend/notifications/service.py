"""Writing notifications (in the transaction of what caused them) and reading them: each person
sees and marks only their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import insert

from backend.auth.models import User
from backend.db import utcnow
from backend.digits import ascii_count
from backend.errors import InvalidInput
from backend.notifications import messages
from backend.notifications.models import Notification, NotificationKind
from backend.notifications.schemas import (
    MAX_PAGE,
    MarkReadIn,
    NotificationOut,
    NotificationPageOut,
)

K = NotificationKind


async def add(
    session: AsyncSession,
    people: ColumnElement[bool],
    kind: NotificationKind,
    title: str,
    *,
    body: str | None = None,
    link: str | None = None,
) -> None:
    """One notification for each enabled user `people` selects, in the caller's transaction. A
    user that does not exist (or no longer) gets none: the cause's own write never fails for it."""
    now = utcnow()
    chosen = select(
        User.id,
        literal(kind.value, Notification.kind.type),
        literal(title, Notification.title.type),
        literal(body, Notification.body.type),
        literal(link, Notification.link.type),
        literal(now, Notification.created_at.type),
    ).where(people, User.disabled_at.is_(None))
    columns = ["user_id", "kind", "title", "body", "link", "created_at"]
    await session.execute(insert(Notification).from_select(columns, chosen))


def task_finished(
    session: AsyncSession, user_id: str | None, task: dict[str, Any], succeeded: bool
) -> None:
    """The uploader's notification of a task's end (`task`: id, filename, datasource,
    rows_valid, rows_rejected, error), added to the session; nothing when no user is known.
    (Users are disabled, never deleted: the task's own move cannot fail for it.)"""
    if user_id is None:
        return
    filename, datasource = task["filename"], task["datasource"]
    if succeeded:
        title = messages.upload_succeeded(filename, datasource, task.get("rows_valid"))
        body = messages.upload_skipped(task.get("rows_rejected"))
    else:
        title = messages.upload_failed(filename, datasource, task.get("error"))
        body = messages.failure_detail(task.get("error"))
    session.add(
        Notification(
            user_id=user_id,
            kind=(K.TASK_SUCCEEDED if succeeded else K.TASK_FAILED).value,
            title=title,
            body=body,
            link=f"/tasks/{task['id']}",
            created_at=utcnow(),
        )
    )


async def display_name(session: AsyncSession, handle: str) -> str:
    found = await session.execute(select(User.display_name).where(User.name == handle))
    return found.scalar_one_or_none() or handle


async def workbook_shared(
    session: AsyncSession, actor: str, workbook: tuple[str, str], handles: Collection[str]
) -> None:
    """`actor` (a handle) shared the workbook (id, title) with `handles`."""
    if not handles:
        return
    title = messages.workbook_shared(await display_name(session, actor), workbook[1])
    link = f"/workbooks/{workbook[0]}"
    await add(session, User.name.in_(sorted(handles)), K.WORKBOOK_SHARED, title, link=link)


async def workbook_changed(
    session: AsyncSession,
    actor: str,
    workbook: tuple[str, str],
    handles: Collection[str],
    changed: list[str],
) -> None:
    """`actor` changed the workbook (id, title) that `handles` follow."""
    if not handles:
        return
    name = await display_name(session, actor)
    title, body = messages.workbook_changed(name, workbook[1], changed)
    people = User.name.in_(sorted(handles))
    await add(
        session, people, K.WORKBOOK_CHANGED, title, body=body, link=f"/workbooks/{workbook[0]}"
    )


def _id(value: str, what: str) -> int:
    number = ascii_count(value)
    if number is None:
        raise InvalidInput(
            f"{what} is not a notification id: {value[:40]!r}",
            "Send an id as the notifications list gave it.",
        )
    return number


async def unread(session: AsyncSession, user_id: str) -> int:
    found = await session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(found.scalar_one())


async def page(
    session: AsyncSession,
    user_id: str,
    *,
    unread_only: bool = False,
    limit: int = 50,
    before: str | None = None,
) -> NotificationPageOut:
    """The user's notifications, newest first, older than `before` (an id) when given."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_PAGE} (got {limit})", "Ask for fewer at a time."
        )
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before:
        query = query.where(Notification.id < _id(before, "before"))
    rows = await session.execute(query.order_by(Notification.id.desc()).limit(limit))
    items = [NotificationOut.of(row) for row in rows.scalars()]
    return NotificationPageOut(items=items, unread=await unread(session, user_id))


async def newer(
    session: AsyncSession, user_id: str, after: int, limit: int
) -> Sequence[Notification]:
    """The user's notifications after id `after`, oldest first (what a stream sends next)."""
    rows = await session.execute(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.id > after)
        .order_by(Notification.id)
        .limit(limit)
    )
    return rows.scalars().all()


async def latest_id(session: AsyncSession, user_id: str) -> int:
    found = await session.execute(
        select(func.max(Notification.id)).where(Notification.user_id == user_id)
    )
    return int(found.scalar_one() or 0)


async def mark_read(session: AsyncSession, user_id: str, request: MarkReadIn) -> int:
    """Marks the user's own notifications read (the ids given, or all); ids of others' or of
    none are ignored. The unread count left."""
    mine = (Notification.user_id == user_id) & Notification.read_at.is_(None)
    if not request.all:
        ids = {n for n in (ascii_count(i) for i in request.ids or []) if n is not None}
        mine = mine & Notification.id.in_(sorted(ids))
    if request.all or request.ids:
        await session.execute(update(Notification).where(mine).values(read_at=utcnow()))
    return await unread(session, user_id)


async def purge(session: AsyncSession, keep_days: int, now: dt.datetime | None = None) -> int:
    """Deletes notifications older than `keep_days` days; how many went."""
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    gone = await session.execute(delete(Notification).where(Notification.created_at < cutoff))
    return int(getattr(gone, "rowcount", 0) or 0)

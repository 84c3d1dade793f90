"""GraphQL for one's own notifications: the list, the unread count, marking read, and new ones
live (a subscription over the websocket). The type is derived from
backend.notifications.schemas (what REST serves); the functions are backend.notifications'."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from pydantic import ValidationError
from strawberry.experimental import pydantic

from backend.auth import users
from backend.db import session_scope
from backend.errors import InvalidInput
from backend.notifications import live, schemas, service
from backend.schema.context import Info
from backend.schema.permissions import IsViewer, require_still_allowed


@pydantic.type(
    model=schemas.NotificationOut,
    all_fields=True,
    description="Something that happened for you: an upload that finished, a workbook shared "
    "with you or changed",
)
class Notification:
    id: strawberry.ID


@pydantic.type(model=schemas.NotificationPageOut, all_fields=True)
class NotificationPage:
    items: list[Notification]


def _marking(ids: list[strawberry.ID] | None, everything: bool) -> schemas.MarkReadIn:
    try:
        return schemas.MarkReadIn(
            ids=None if ids is None else [str(i) for i in ids], all=everything
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(
            f"markNotificationsRead: {first['msg']}",
            f"Send at most {schemas.MAX_IDS} ids, or all: true.",
        ) from None


@strawberry.type
class NotificationQuery:
    @strawberry.field(permission_classes=[IsViewer], description="Your notifications, newest first")
    async def notifications(
        self,
        info: Info,
        unread_only: bool = False,
        first: int = 50,
        before: strawberry.ID | None = None,
    ) -> NotificationPage:
        user = users.own_id(info.context.principal)
        async with session_scope(info.context.runtime.reading()) as session:
            found = await service.page(
                session,
                user,
                unread_only=unread_only,
                limit=first,
                before=None if before is None else str(before),
            )
        return NotificationPage.from_pydantic(found)

    @strawberry.field(permission_classes=[IsViewer], description="How many of yours are unread")
    async def unread_notification_count(self, info: Info) -> int:
        user = users.own_id(info.context.principal)
        async with session_scope(info.context.runtime.reading()) as session:
            return await service.unread(session, user)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="Mark yours read: the ids given (others are ignored), or all; returns how "
        "many are left unread",
    )
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID] | None = None, all: bool = False
    ) -> int:
        marking = _marking(ids, all)
        user = users.own_id(info.context.principal)
        return await service.mark_read(info.context.session, user, marking)


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(
        permission_classes=[IsViewer],
        description="Your new notifications as they happen, until you stop or your token stops "
        "being valid",
    )
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        runtime = info.context.runtime
        user = users.own_id(info.context.principal)
        reading = runtime.reading()
        updates = live.stream(reading, runtime.wakeups, user, await live.now(reading, user))
        try:
            async for item in updates:
                await require_still_allowed(info)
                if item is not None:
                    yield Notification.from_pydantic(item)
        finally:
            await updates.aclose()

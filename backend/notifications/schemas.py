"""What clients read and send (REST serves these; GraphQL's types are derived from them)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from backend.notifications.models import Notification

MAX_PAGE = 200
MAX_IDS = 500


class NotificationOut(BaseModel):
    id: str = Field(description="Pass it as `before` for older ones")
    kind: str = Field(
        description="task_succeeded, task_failed, workbook_shared, workbook_changed, action_alert or action_failed"
    )
    title: str = Field(description="The sentence to show")
    body: str | None = Field(description="More of the story, when there is more")
    link: str | None = Field(description="Where it leads in the app, such as /tasks/<id>")
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationOut:
        return cls(
            id=str(row.id),
            kind=row.kind,
            title=row.title,
            body=row.body,
            link=row.link,
            created_at=row.created_at,
            read_at=row.read_at,
        )


class NotificationPageOut(BaseModel):
    items: list[NotificationOut] = Field(description="Newest first")
    unread: int = Field(description="How many of yours are unread (all of them, not this page)")


class UnreadOut(BaseModel):
    unread: int


class MarkReadIn(BaseModel):
    """`ids` (yours; others and unknown ones are ignored), or `all`; neither marks nothing."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ids: list[str] | None = Field(default=None, max_length=MAX_IDS)
    all: bool = False

"""A notification: one line for one person, read or not."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")
MAX_TITLE = 500
MAX_BODY = 2000


class NotificationKind(enum.StrEnum):
    TASK_SUCCEEDED = "task_succeeded"
    TASK_FAILED = "task_failed"
    WORKBOOK_SHARED = "workbook_shared"
    WORKBOOK_CHANGED = "workbook_changed"
    ACTION_ALERT = "action_alert"
    ACTION_FAILED = "action_failed"


class Notification(Base):
    """`title` is the sentence a person reads; `link` an app path ("/tasks/<id>")."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

"""The stored workbooks, their versions, tags, shares, favorites and views. People are named by
their handle (`Principal.name`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


def _workbook() -> ForeignKey:
    """A reference to a workbook, gone with it."""
    return ForeignKey("workbooks.id", ondelete="CASCADE")


class Workbook(Base):
    """A saved dashboard: its datasource, filters and ordered widgets, owned by a handle.
    `search_text` is title, description and tags, what full-text search reads."""

    __tablename__ = "workbooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    datasource: Mapped[str] = mapped_column(String(64), index=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    widgets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    owner: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WorkbookVersion(Base):
    """One save: who, when, which fields changed, and the whole document as saved."""

    __tablename__ = "workbook_versions"

    workbook_id: Mapped[str] = mapped_column(String(32), _workbook(), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    author: Mapped[str] = mapped_column(String(128))
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(Base):
    """A tag, created on its first use."""

    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkbookTag(Base):
    __tablename__ = "workbook_tags"
    __table_args__ = (Index("ix_workbook_tags_tag", "tag"),)

    workbook_id: Mapped[str] = mapped_column(String(32), _workbook(), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), ForeignKey("tags.name"), primary_key=True)


class WorkbookShare(Base):
    """A handle a workbook of visibility `users` is shared with."""

    __tablename__ = "workbook_shares"
    __table_args__ = (Index("ix_workbook_shares_handle", "handle"),)

    workbook_id: Mapped[str] = mapped_column(String(32), _workbook(), primary_key=True)
    handle: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkbookFavorite(Base):
    __tablename__ = "workbook_favorites"
    __table_args__ = (Index("ix_workbook_favorites_handle", "handle"),)

    workbook_id: Mapped[str] = mapped_column(String(32), _workbook(), primary_key=True)
    handle: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkbookViewer(Base):
    """How often a handle opened a workbook, and when last."""

    __tablename__ = "workbook_views"

    workbook_id: Mapped[str] = mapped_column(String(32), _workbook(), primary_key=True)
    handle: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_viewed: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkbookViewEvent(Base):
    """One counted view (at most one per handle per minute): what `popular` counts."""

    __tablename__ = "workbook_view_events"
    __table_args__ = (Index("ix_workbook_view_events_at", "workbook_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workbook_id: Mapped[str] = mapped_column(String(32), _workbook())
    handle: Mapped[str] = mapped_column(String(128))
    viewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Who owns a datasource and who else may write to it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class DatasourceAccess(Base):
    """Who may write to a datasource: its owner (the principal that created it, or whose first
    upload did) and its grants (principal names, or `role:<role>`). Admins may write to any;
    reads stay open to viewers. No owner: admins only (a datasource from before owners)."""

    __tablename__ = "datasource_access"

    datasource: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(128))
    owner_name: Mapped[str | None] = mapped_column(String(128))
    grants: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

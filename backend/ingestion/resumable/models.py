"""An upload session and the parts the service has received (the local folder's; with S3 the
parts are S3's own, listed from the multipart upload)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class SessionStatus(enum.StrEnum):
    OPEN = "open"  # parts may be sent
    COMPLETING = "completing"  # a complete call is checking it; parts are refused
    COMPLETED = "completed"  # a task was made from it (task_id)
    ABORTED = "aborted"  # the client gave up; its parts were removed
    EXPIRED = "expired"  # UPLOAD_SESSION_TTL_SECONDS passed; the janitor removed its parts


class PartState(enum.StrEnum):
    WRITING = "writing"  # its bytes are being written (its writer refreshes started_at)
    STORED = "stored"  # written whole, its size and sha256 checked


class UploadSession(Base):
    __tablename__ = "upload_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(128))  # the principal's id
    owner_name: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # declared by the client, hex
    datasource: Mapped[str] = mapped_column(String(64))
    # UploadOptions.as_dict() plus "force" and "dry_run", checked at creation.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    part_size: Mapped[int] = mapped_column(BigInteger)
    part_count: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(512))  # becomes the task's storage_key
    s3_upload_id: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.OPEN.value)
    task_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_upload_sessions_owner_status", "owner_id", "status"),
        Index("ix_upload_sessions_status_expires", "status", "expires_at"),
    )


class UploadPart(Base):
    """A part the service itself received (local folder): written at its offset of the file.
    A part being written is recorded first (state writing, by one request: `writer`), so that
    complete waits for it and a write that fails leaves the part missing, never believed good."""

    __tablename__ = "upload_parts"

    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("upload_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # hex, of the part's bytes
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=PartState.STORED.value)
    writer: Mapped[str | None] = mapped_column(String(32))  # the request writing it
    # When writing began, then when its writer last said it still writes (every few seconds).
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

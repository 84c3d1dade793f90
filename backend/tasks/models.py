"""Ingestion tasks and their event history."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from backend.db import Base, UTCDateTime, utcnow
from backend.redaction import scrub

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class TaskStatus(enum.StrEnum):
    QUEUED = "queued"
    VALIDATING = "validating"
    LOADING = "loading"
    # With Druid configured, after the dataset is stored (and queryable on the embedded engine):
    WAITING_FOR_DRUID = "waiting_for_druid"  # Druid unreachable: retried later with backoff
    DRUID_SUBMITTING = "druid_submitting"
    DRUID_INDEXING = "druid_indexing"
    DRUID_LOADING = "druid_loading"  # Druid's task succeeded; waiting for historicals to serve it
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED})
# States a worker may hold (or pick up again once the holder's lease has expired).
DRUID_STATUSES = frozenset(
    {TaskStatus.DRUID_SUBMITTING, TaskStatus.DRUID_INDEXING, TaskStatus.DRUID_LOADING}
)
ACTIVE_STATUSES = frozenset({TaskStatus.VALIDATING, TaskStatus.LOADING}) | DRUID_STATUSES
# The dataset is stored and valid: the embedded engine serves it.
STORED_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.WAITING_FOR_DRUID}) | DRUID_STATUSES


class IngestionTask(Base):
    __tablename__ = "ingestion_tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    datasource: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(32))  # set by lifecycle.create, and its moves
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    rows_read: Mapped[int | None] = mapped_column(BigInteger)
    rows_valid: Mapped[int | None] = mapped_column(BigInteger)
    rows_rejected: Mapped[int | None] = mapped_column(BigInteger)
    dataset_key: Mapped[str | None] = mapped_column(String(512))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    druid_spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    druid_task_id: Mapped[str | None] = mapped_column(String(255))
    druid_datasource: Mapped[str | None] = mapped_column(String(128))
    # Druid's own account: task status, row counts, parse exceptions, load percent.
    druid_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What the rolled-up Druid datasource holds of this task's rows, once loaded (JSON of
    # {dimensions, measures}); None: no rollup loaded, dashboards read the raw rows.
    druid_rollup: Mapped[str | None] = mapped_column(Text)
    # A task waiting for Druid is not claimed before this time (backoff).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    data_as_of: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # mode=replace: the interval (ISO start/end) in which this dataset replaces earlier rows.
    replace_interval: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Who uploaded it (a principal's id): an uploader may retry or cancel only its own tasks.
    created_by: Mapped[str | None] = mapped_column(String(128))
    # The user it stands for (None: anonymous or the service): its end notifies them.
    created_by_user: Mapped[str | None] = mapped_column(String(32))
    # The upload's trace (W3C headers: traceparent, tracestate), continued by the worker.
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # The action (and its run) that fetched the file; None for an upload.
    source_action_id: Mapped[str | None] = mapped_column(String(32))
    source_run_id: Mapped[str | None] = mapped_column(String(32))
    # A preview: read and validated in full, nothing loaded; its file is kept PREVIEW_KEEP_SECONDS
    # for confirming it (with overrides) as a new task. Never a duplicate of a real upload.
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[TaskEvent]] = relationship(
        back_populates="task", lazy="raise", order_by="TaskEvent.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_ingestion_tasks_datasource_sha256", "datasource", "sha256"),
        Index("ix_ingestion_tasks_status_created_at", "status", "created_at"),
        Index("ix_ingestion_tasks_created_at", "created_at"),
    )


class TaskEvent(Base):
    __tablename__ = "ingestion_task_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(
        ForeignKey("ingestion_tasks.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    task: Mapped[IngestionTask] = relationship(back_populates="events", lazy="raise")

    @validates("message")
    def _scrubbed(self, _key: str, message: str) -> str:
        """Events are shown to every viewer: no credentials, signatures or server paths, whoever
        writes them."""
        return scrub(message)


class WorkerHeartbeat(Base):
    """Each worker process says it is alive here (read by health checks)."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    concurrency: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

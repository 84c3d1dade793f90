"""Actions and their runs: a stored, owned definition (a kind, its parameters, its triggers),
each execution a run row claimed by the workers with a lease, each outbound attempt a delivery."""

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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class ActionKind(enum.StrEnum):
    IMPORT = "import"
    WEBHOOK = "webhook"
    ALERT = "alert"
    REPORT = "report"


class TriggerType(enum.StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    EVENT = "event"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Action(Base):
    """`params` never holds a secret: the webhook's signing secret (whsec_...) or an import's
    header value is in `secret_box`, encrypted (backend.actions.secrets)."""

    __tablename__ = "actions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_box: Mapped[str | None] = mapped_column(Text)
    secret_hint: Mapped[str | None] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_user: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(128))  # the creator's principal id
    owner_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A schedule's times before this never run (enabling does not run what was missed).
    enabled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_actions_owner_user", "owner_user"),)


class ActionTrigger(Base):
    __tablename__ = "action_triggers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    cron: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str | None] = mapped_column(String(40))
    # An event trigger's filter, e.g. {"datasource": "sales"}.
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_action_triggers_action_id", "action_id"),
        Index("ix_action_triggers_type_event", "type", "event"),
    )


class ActionRun(Base):
    """One execution. `trigger_key` makes a trigger run once: `schedule:<due time>`,
    `event:<outbox id>` or `manual:<uuid>`. Statuses change in backend.actions.lifecycle only."""

    __tablename__ = "action_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))
    trigger_key: Mapped[str] = mapped_column(String(96))
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    input: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # an event's payload
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims, as tasks count them
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # task_ids, http_status, latency_ms, rows, value, fired: what the run did.
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {code, message, hint}
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("action_id", "trigger_key", name="uq_action_runs_action_id_trigger_key"),
        Index("ix_action_runs_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_action_runs_action_id_created_at", "action_id", "created_at"),
    )


class ActionDelivery(Base):
    """One outbound attempt of a run: its answer's status, latency and first 1 KB (scrubbed).
    `target` is scheme://host:port only, never a path, query or credential."""

    __tablename__ = "action_deliveries"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("action_runs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(8))  # http or smtp
    target: Mapped[str] = mapped_column(String(255))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    response_head: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(String(500))
    refused: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_action_deliveries_run_id", "run_id"),)


class ActionImportSeen(Base):
    """A source object an import has taken (by key and ETag): never taken twice."""

    __tablename__ = "action_import_seen"

    action_id: Mapped[str] = mapped_column(
        ForeignKey("actions.id", ondelete="CASCADE"), primary_key=True
    )
    source_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    etag: Mapped[str] = mapped_column(String(128), primary_key=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    task_id: Mapped[str | None] = mapped_column(String(32))
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionAlertState(Base):
    """An alert's last state (ok or firing): it fires on a change to firing, not every time."""

    __tablename__ = "action_alert_state"

    action_id: Mapped[str] = mapped_column(
        ForeignKey("actions.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    evaluated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Actions: definitions, triggers, runs, deliveries, what imports took, alert states; the event
outbox; and the action and run that made a task.

Revision ID: 20261205_0015
Revises: 20261205_0014
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0015"
down_revision: str | None = "20261205_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _actions() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("secret_box", sa.Text(), nullable=True),
        sa.Column("secret_hint", sa.String(16), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "owner_user",
            sa.String(32),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.String(128), nullable=False),
        sa.Column("owner_name", sa.String(64), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("enabled_at", _WHEN, nullable=False),
    )
    op.create_index("ix_actions_owner_user", "actions", ["owner_user"])
    op.create_table(
        "action_triggers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "action_id",
            sa.String(32),
            sa.ForeignKey("actions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("cron", sa.String(120), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("event", sa.String(40), nullable=True),
        sa.Column("filter", sa.JSON(), nullable=True),
        sa.Column("last_scheduled_for", _WHEN, nullable=True),
    )
    op.create_index("ix_action_triggers_action_id", "action_triggers", ["action_id"])
    op.create_index("ix_action_triggers_type_event", "action_triggers", ["type", "event"])


def _runs() -> None:
    op.create_table(
        "action_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "action_id",
            sa.String(32),
            sa.ForeignKey("actions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("trigger_key", sa.String(96), nullable=False),
        sa.Column("scheduled_for", _WHEN, nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("input", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _WHEN, nullable=True),
        sa.Column("deadline_at", _WHEN, nullable=True),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", _WHEN, nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("started_at", _WHEN, nullable=True),
        sa.Column("finished_at", _WHEN, nullable=True),
        sa.UniqueConstraint(
            "action_id", "trigger_key", name="uq_action_runs_action_id_trigger_key"
        ),
    )
    op.create_index(
        "ix_action_runs_status_next_attempt_at", "action_runs", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_action_runs_action_id_created_at", "action_runs", ["action_id", "created_at"]
    )
    op.create_table(
        "action_deliveries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("action_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("response_head", sa.String(1024), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_action_deliveries_run_id", "action_deliveries", ["run_id"])


def _state() -> None:
    op.create_table(
        "action_import_seen",
        sa.Column(
            "action_id",
            sa.String(32),
            sa.ForeignKey("actions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source_key", sa.String(1024), nullable=False),
        sa.Column("etag", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("task_id", sa.String(32), nullable=True),
        sa.Column("seen_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("action_id", "source_key", "etag"),
    )
    op.create_table(
        "action_alert_state",
        sa.Column(
            "action_id",
            sa.String(32),
            sa.ForeignKey("actions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("evaluated_at", _WHEN, nullable=False),
        sa.Column("changed_at", _WHEN, nullable=False),
    )
    op.create_table(
        "event_outbox",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("datasource", sa.String(64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("dispatched_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_outbox_dispatched_at_id", "event_outbox", ["dispatched_at", "id"])


def upgrade() -> None:
    _actions()
    _runs()
    _state()
    # Plain ALTERs, not batches: on SQLite a batch copies the table and drops the original,
    # refused while other tables' rows refer to it (task events to tasks; tokens to users).
    op.add_column("ingestion_tasks", sa.Column("source_action_id", sa.String(32), nullable=True))
    op.add_column("ingestion_tasks", sa.Column("source_run_id", sa.String(32), nullable=True))
    op.add_column("users", sa.Column("email", sa.String(254), nullable=True))  # reports to a viewer


def downgrade() -> None:
    op.drop_column("users", "email")  # SQLite 3.35+ drops a plain column in place
    op.drop_column("ingestion_tasks", "source_run_id")
    op.drop_column("ingestion_tasks", "source_action_id")
    for table in (
        "event_outbox",
        "action_alert_state",
        "action_import_seen",
        "action_deliveries",
        "action_runs",
        "action_triggers",
        "actions",
    ):
        op.drop_table(table)

"""Notifications: one line for one person (an upload that finished, a workbook shared with them
or changed while they follow it), and the user who uploaded a task, whom its end notifies.
PostgreSQL: a new notification is announced on the channel live task streams listen to, with
the payload "notifications:<user id>" (backend.notifications.live.key).

Revision ID: 20261205_0013
Revises: 20261205_0012
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0013"
down_revision: str | None = "20261205_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "ingest_task_updates"  # backend.tasks.live.CHANNEL
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("link", sa.String(255), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("read_at", _WHEN, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_notifications_user_id_created_at", "notifications", ["user_id", "created_at"]
    )
    with op.batch_alter_table("ingestion_tasks") as batch:
        batch.add_column(sa.Column("created_by_user", sa.String(32), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION notification_added() RETURNS trigger AS $$
            BEGIN
                PERFORM pg_notify('{CHANNEL}', 'notifications:' || NEW.user_id);
                RETURN NULL;
            END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER notification_added AFTER INSERT ON notifications "
            "FOR EACH ROW EXECUTE FUNCTION notification_added()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS notification_added ON notifications")
        op.execute("DROP FUNCTION IF EXISTS notification_added()")
    with op.batch_alter_table("ingestion_tasks") as batch:
        batch.drop_column("created_by_user")
    op.drop_index("ix_notifications_user_id_created_at", table_name="notifications")
    op.drop_table("notifications")

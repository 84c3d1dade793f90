"""Resumable uploads (sessions and the parts the service received) and previews (dry runs).

Revision ID: 20261205_0016
Revises: 20261205_0015
Create Date: 2026-12-05 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0016"
down_revision: str | None = "20261205_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "upload_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.String(128), nullable=False),
        sa.Column("owner_name", sa.String(128), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("datasource", sa.String(64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("part_count", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(512), nullable=False),
        sa.Column("s3_upload_id", sa.String(1024), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task_id", sa.String(32), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
    )
    op.create_index("ix_upload_sessions_owner_status", "upload_sessions", ["owner_id", "status"])
    op.create_index(
        "ix_upload_sessions_status_expires", "upload_sessions", ["status", "expires_at"]
    )
    op.create_table(
        "upload_parts",
        sa.Column(
            "session_id",
            sa.String(32),
            sa.ForeignKey("upload_sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("received_at", _WHEN, nullable=False),
    )
    op.add_column(
        "ingestion_tasks",
        sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("ingestion_tasks", "dry_run")  # SQLite 3.35+ drops a plain column in place
    op.drop_table("upload_parts")
    op.drop_index("ix_upload_sessions_status_expires", "upload_sessions")
    op.drop_index("ix_upload_sessions_owner_status", "upload_sessions")
    op.drop_table("upload_sessions")

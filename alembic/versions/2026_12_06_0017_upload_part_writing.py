"""A part of an upload session being written is recorded as such (state, writer, started_at):
complete waits for it, and a write that fails leaves the part missing.

Revision ID: 20261206_0017
Revises: 20261205_0016
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_0017"
down_revision: str | None = "20261205_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload_parts") as table:
        table.add_column(
            sa.Column("state", sa.String(16), nullable=False, server_default="stored")
        )
        table.add_column(sa.Column("writer", sa.String(32), nullable=True))
        table.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upload_parts") as table:
        table.drop_column("started_at")
        table.drop_column("writer")
        table.drop_column("state")

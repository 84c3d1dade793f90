"""Datasource schemas inferred from a datasource's first upload.

Revision ID: 20261123_0002
Revises: 20261123_0001
Create Date: 2026-11-23 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0002"
down_revision: str | None = "20261123_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasource_schemas",
        sa.Column("datasource", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source_task_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("datasource", name=op.f("pk_datasource_schemas")),
    )


def downgrade() -> None:
    op.drop_table("datasource_schemas")

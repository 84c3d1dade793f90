"""Druid loading on tasks (Druid datasource, report, backoff, data as of) and service secrets.

Revision ID: 20261123_0005
Revises: 20261123_0004
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0005"
down_revision: str | None = "20261123_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingestion_tasks") as batch:
        batch.add_column(sa.Column("druid_datasource", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("druid_report", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("data_as_of", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("replace_interval", sa.String(length=64), nullable=True))
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_secrets")),
    )


def downgrade() -> None:
    op.drop_table("service_secrets")
    with op.batch_alter_table("ingestion_tasks") as batch:
        batch.drop_column("replace_interval")
        batch.drop_column("data_as_of")
        batch.drop_column("next_attempt_at")
        batch.drop_column("druid_report")
        batch.drop_column("druid_datasource")

"""What each task's rolled-up Druid datasource holds, once loaded: the Druid engine answers from
the rollup only when every dataset of a datasource has one.

Revision ID: 20261207_0018
Revises: 20261206_0017
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_0018"
down_revision: str | None = "20261206_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingestion_tasks") as table:
        table.add_column(sa.Column("druid_rollup", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingestion_tasks") as table:
        table.drop_column("druid_rollup")

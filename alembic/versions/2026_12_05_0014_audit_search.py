"""The audit log's search: a prefix match on the lowered actor, action and target
(backend.monitoring.audit). PostgreSQL serves `lower(column) LIKE 'text%'` from an expression
index with text_pattern_ops (whatever the database's collation); SQLite reads its small log.

Revision ID: 20261205_0014
Revises: 20261205_0013
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261205_0014"
down_revision: str | None = "20261205_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("actor", "action", "target")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(
            f"CREATE INDEX ix_audit_log_lower_{column} "
            f"ON audit_log (lower({column}) text_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_audit_log_lower_{column}")

"""PostgreSQL: NOTIFY on task changes and new task events, for live updates (SSE, GraphQL
subscriptions) from any process. Nothing on SQLite (streams poll there).

Revision ID: 20261123_0007
Revises: 20261123_0006
Create Date: 2026-11-23 22:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261123_0007"
down_revision: str | None = "20261123_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "ingest_task_updates"  # backend.tasks.live.CHANNEL


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION ingest_task_changed() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.id);
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION ingest_task_event_added() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', NEW.task_id);
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER ingest_task_changed AFTER UPDATE OF status, progress, rows_read, "
        "rows_valid, rows_rejected ON ingestion_tasks FOR EACH ROW "
        "EXECUTE FUNCTION ingest_task_changed()"
    )
    op.execute(
        "CREATE TRIGGER ingest_task_event_added AFTER INSERT ON ingestion_task_events "
        "FOR EACH ROW EXECUTE FUNCTION ingest_task_event_added()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS ingest_task_event_added ON ingestion_task_events")
    op.execute("DROP TRIGGER IF EXISTS ingest_task_changed ON ingestion_tasks")
    op.execute("DROP FUNCTION IF EXISTS ingest_task_event_added()")
    op.execute("DROP FUNCTION IF EXISTS ingest_task_changed()")

"""Workbooks: saved dashboards, their versions, tags, shares, favorites and views; full-text
search over title, description and tags (SQLite: an FTS5 table the service keeps; PostgreSQL: a
GIN index on to_tsvector('simple', search_text)).

Revision ID: 20261204_0011
Revises: 20261204_0010
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0011"
down_revision: str | None = "20261204_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def _workbook_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["workbook_id"], ["workbooks.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "workbooks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("datasource", sa.String(64), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("widgets", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workbooks")),
    )
    for column in ("datasource", "owner", "updated_at"):
        op.create_index(op.f(f"ix_workbooks_{column}"), "workbooks", [column])
    op.create_table(
        "workbook_versions",
        sa.Column("workbook_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        _workbook_fk(),
        sa.PrimaryKeyConstraint("workbook_id", "version", name=op.f("pk_workbook_versions")),
    )
    op.create_table(
        "tags",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tags")),
    )
    op.create_table(
        "workbook_tags",
        sa.Column("workbook_id", sa.String(32), nullable=False),
        sa.Column("tag", sa.String(40), nullable=False),
        _workbook_fk(),
        sa.ForeignKeyConstraint(["tag"], ["tags.name"]),
        sa.PrimaryKeyConstraint("workbook_id", "tag", name=op.f("pk_workbook_tags")),
    )
    op.create_index("ix_workbook_tags_tag", "workbook_tags", ["tag"])
    for table in ("workbook_shares", "workbook_favorites"):
        op.create_table(
            table,
            sa.Column("workbook_id", sa.String(32), nullable=False),
            sa.Column("handle", sa.String(128), nullable=False),
            sa.Column("created_at", _WHEN, nullable=False),
            _workbook_fk(),
            sa.PrimaryKeyConstraint("workbook_id", "handle", name=op.f(f"pk_{table}")),
        )
        op.create_index(f"ix_{table}_handle", table, ["handle"])
    _views()
    _search()


def _views() -> None:
    op.create_table(
        "workbook_views",
        sa.Column("workbook_id", sa.String(32), nullable=False),
        sa.Column("handle", sa.String(128), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_viewed", _WHEN, nullable=False),
        _workbook_fk(),
        sa.PrimaryKeyConstraint("workbook_id", "handle", name=op.f("pk_workbook_views")),
    )
    op.create_table(
        "workbook_view_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workbook_id", sa.String(32), nullable=False),
        sa.Column("handle", sa.String(128), nullable=False),
        sa.Column("viewed_at", _WHEN, nullable=False),
        _workbook_fk(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workbook_view_events")),
    )
    op.create_index(
        "ix_workbook_view_events_at", "workbook_view_events", ["workbook_id", "viewed_at"]
    )


def _search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE workbook_fts USING fts5(workbook_id UNINDEXED, body)")
    else:
        op.execute(
            "CREATE INDEX ix_workbooks_search ON workbooks "
            "USING gin (to_tsvector('simple', search_text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE workbook_fts")
    for table in (
        "workbook_view_events",
        "workbook_views",
        "workbook_favorites",
        "workbook_shares",
        "workbook_tags",
        "tags",
        "workbook_versions",
        "workbooks",
    ):
        op.drop_table(table)

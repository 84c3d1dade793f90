"""People become records: a `users` table, and every API token belongs to a user.

Every name existing tokens carry gets a user of that name, with the role of its newest token
(a name has at most one usable token: the newest; older ones were revoked or had expired).

Revision ID: 20261204_0010
Revises: 20261204_0009
Create Date: 2026-12-04 21:00:00
"""

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0010"
down_revision: str | None = "20261204_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    users = op.create_table(
        "users",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("oidc_subject", sa.String(255), nullable=True),
        sa.Column("default_datasource", sa.String(64), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.Column("default_dashboard", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
        sa.UniqueConstraint("oidc_subject", name=op.f("uq_users_oidc_subject")),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_id", sa.String(32), nullable=True))
    bind = op.get_bind()
    people = _people(bind)
    op.bulk_insert(users, list(people.values()))
    for name, person in people.items():
        bind.execute(
            sa.text("UPDATE api_tokens SET user_id = :user WHERE name = :name"),
            {"user": person["id"], "name": name},
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("user_id", existing_type=sa.String(32), nullable=False)
        batch.create_foreign_key(
            op.f("fk_api_tokens_user_id_users"), "users", ["user_id"], ["id"]
        )


def _people(bind: sa.Connection) -> dict[str, dict[str, object]]:
    """Each token name -> its user: the role of the newest token, created with the oldest."""
    found: dict[str, dict[str, object]] = {}
    rows = bind.execute(
        sa.text("SELECT name, role, created_at FROM api_tokens ORDER BY created_at, id")
    )
    for name, role, created_at in rows:  # the newest token of a name is read last
        person = found.setdefault(
            name,
            {"id": uuid.uuid4().hex, "name": name, "display_name": name,
             "created_at": _aware(created_at)},
        )  # fmt: skip
        person["role"] = role
    return found


def _aware(value: object) -> dt.datetime:
    """SQLite hands back text or naive datetimes; the column stores UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return dt.datetime.now(dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("fk_api_tokens_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
    op.drop_table("users")

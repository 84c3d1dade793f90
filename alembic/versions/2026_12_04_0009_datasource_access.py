"""Datasources get an owner and grants: who may write to them (admins may write to any).

Existing datasources get their creator as owner: the principal of their `create_datasource`
audit entry, else the uploader of their first task; when neither is known (the service seeded
it, or the tasks predate recording uploaders) no owner, which means admins only.

Revision ID: 20261204_0009
Revises: 20261202_0008
Create Date: 2026-12-04 19:00:00
"""

import datetime as dt
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_0009"
down_revision: str | None = "20261202_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An audit actor is "name (id)" (Principal.label); the service's own work is "system".
_LABEL = re.compile(r"^(?P<name>.*) \((?P<id>(?:token|jwt):[^()]*)\)$")


def upgrade() -> None:
    access = op.create_table(
        "datasource_access",
        sa.Column("datasource", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(128), nullable=True),
        sa.Column("owner_name", sa.String(128), nullable=True),
        sa.Column("grants", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("datasource", name=op.f("pk_datasource_access")),
    )
    owners = _known_owners(op.get_bind())
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        access,
        [
            {"datasource": name, "owner_id": owner_id, "owner_name": owner_name, "grants": [],
             "created_at": now}
            for name, (owner_id, owner_name) in sorted(owners.items())
        ],
    )


def _known_owners(bind: sa.Connection) -> dict[str, tuple[str | None, str | None]]:
    """Each existing datasource -> (owner id, owner name); (None, None): admins only."""
    names: dict[str, str] = {}  # principal id -> name, from the audit log's labels
    creators: dict[str, str] = {}  # datasource -> the principal id of createDatasource
    audit = bind.execute(sa.text("SELECT actor, action, target FROM audit_log ORDER BY id"))
    for actor, action, target in audit:
        match = _LABEL.match(actor or "")
        if match:
            names.setdefault(match["id"], match["name"])
            if action == "create_datasource" and target:
                creators.setdefault(target, match["id"])
    found: dict[str, tuple[str | None, str | None]] = {}
    first = bind.execute(
        sa.text(
            "SELECT datasource, created_by FROM ingestion_tasks ORDER BY created_at DESC, id DESC"
        )
    )
    for name, created_by in first:  # the earliest task is read last
        found[name] = (created_by, names.get(created_by)) if created_by in names else (None, None)
    for (name,) in bind.execute(sa.text("SELECT datasource FROM datasource_schemas")):
        found.setdefault(name, (None, None))
    for name, owner in creators.items():
        if name in found:
            found[name] = (owner, names[owner])
    return found


def downgrade() -> None:
    op.drop_table("datasource_access")

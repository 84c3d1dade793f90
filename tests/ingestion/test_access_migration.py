"""Datasources made before owners get one by the migration: the principal of their
createDatasource audit entry, else the uploader of their first task; unknown (the service's
own seed, anonymous uploads) means admins only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from backend.migrations import alembic_config

NOW = "2026-12-01 10:00:00.000000"


def _task(db: sqlite3.Connection, task_id: str, datasource: str, by: str | None, at: str) -> None:
    db.execute(
        "INSERT INTO ingestion_tasks (id, datasource, filename, file_format, size_bytes, sha256, "
        "storage_key, options, status, progress, attempts, created_at, updated_at, created_by) "
        "VALUES (?, ?, 'f.csv', 'csv', 1, 'x', 'raw/x', '{}', 'succeeded', 1.0, 1, ?, ?, ?)",
        (task_id, datasource, at, at, by),
    )


def _audit(db: sqlite3.Connection, actor: str, action: str, target: str) -> None:
    db.execute(
        "INSERT INTO audit_log (at, actor, action, target) VALUES (?, ?, ?, ?)",
        (NOW, actor, action, target),
    )


def test_existing_datasources_get_their_creator_as_owner(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "20261202_0008")
    with sqlite3.connect(path) as db:
        # bob's first upload made `readings`; alice uploaded to it later.
        _task(db, "t1", "readings", "token:bob1", "2026-11-01 10:00:00.000000")
        _task(db, "t2", "readings", "token:alice1", "2026-11-02 10:00:00.000000")
        _audit(db, "bob (token:bob1)", "upload", "t1")
        _audit(db, "alice (token:alice1)", "upload", "t2")
        # alice created `orders` ahead (no upload yet); the service seeded `sales`.
        db.execute(
            "INSERT INTO datasource_schemas (datasource, definition, source_task_id, created_at) "
            "VALUES ('orders', '{}', '', ?)",
            (NOW,),
        )
        _audit(db, "alice (token:alice1)", "create_datasource", "orders")
        _task(db, "t3", "sales", None, NOW)
        _task(db, "t4", "guest", "anonymous@127.0.0.1", NOW)
    command.upgrade(config, "head")
    with sqlite3.connect(path) as db:
        owners = {
            name: (owner_id, owner_name, grants)
            for name, owner_id, owner_name, grants in db.execute(
                "SELECT datasource, owner_id, owner_name, grants FROM datasource_access"
            )
        }
    assert owners == {
        "readings": ("token:bob1", "bob", "[]"),
        "orders": ("token:alice1", "alice", "[]"),
        "sales": (None, None, "[]"),  # admins only
        "guest": (None, None, "[]"),
    }

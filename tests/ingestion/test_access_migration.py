"""Datasources made before owners get one by the migration (on SQLite and PostgreSQL): the
principal of their createDatasource audit entry, else the uploader of their first task; unknown
(the service's own seed, anonymous uploads) means admins only."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from alembic import command
from backend.migrations import alembic_config
from tests.conftest import _create_database
from tests.services import PostgresCluster

NOW = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
TASK = text(
    "INSERT INTO ingestion_tasks (id, datasource, filename, file_format, size_bytes, sha256, "
    "storage_key, options, status, progress, attempts, created_at, updated_at, created_by) "
    "VALUES (:id, :datasource, 'f.csv', 'csv', 1, 'x', 'raw/x', '{}', 'succeeded', 1.0, 1, "
    ":at, :at, :by)"
)
AUDIT = text(
    "INSERT INTO audit_log (at, actor, action, target) VALUES (:at, :actor, :action, :target)"
)
SCHEMA = text(
    "INSERT INTO datasource_schemas (datasource, definition, source_task_id, created_at) "
    "VALUES ('orders', '{}', '', :at)"
)


async def _old_rows(db: AsyncConnection) -> None:
    # bob's first upload made `readings`; alice uploaded to it later.
    for task_id, by, days in (("t1", "token:bob1", 0), ("t2", "token:alice1", 1)):
        at = NOW - dt.timedelta(days=30 - days)
        await db.execute(TASK, {"id": task_id, "datasource": "readings", "at": at, "by": by})
    for actor, target in (("bob (token:bob1)", "t1"), ("alice (token:alice1)", "t2")):
        await db.execute(AUDIT, {"at": NOW, "actor": actor, "action": "upload", "target": target})
    # alice created `orders` ahead (no upload yet); the service seeded `sales`.
    await db.execute(SCHEMA, {"at": NOW})
    await db.execute(
        AUDIT,
        {"at": NOW, "actor": "alice (token:alice1)", "action": "create_datasource", "target": "orders"},
    )  # fmt: skip
    await db.execute(TASK, {"id": "t3", "datasource": "sales", "at": NOW, "by": None})
    await db.execute(
        TASK, {"id": "t4", "datasource": "guest", "at": NOW, "by": "anonymous@127.0.0.1"}
    )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_existing_datasources_get_their_creator_as_owner(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        name = f"m_{uuid.uuid4().hex[:16]}"
        await _create_database(cluster, name)
        url = cluster.url(name)
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "20261202_0008")
    engine = create_async_engine(url)
    async with engine.begin() as db:
        await _old_rows(db)
    await asyncio.to_thread(command.upgrade, config, "head")
    async with engine.connect() as db:
        rows = await db.execute(
            text("SELECT datasource, owner_id, owner_name, grants FROM datasource_access")
        )
        owners = {
            name: (owner_id, owner_name, json.loads(g) if isinstance(g, str) else g)
            for name, owner_id, owner_name, g in rows
        }
    await engine.dispose()
    assert owners == {
        "readings": ("token:bob1", "bob", []),
        "orders": ("token:alice1", "alice", []),
        "sales": (None, None, []),  # admins only
        "guest": (None, None, []),
    }

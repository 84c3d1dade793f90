"""Tokens made before users get one by the migration (on SQLite and PostgreSQL): one user per
token name, with the role of that name's newest token, revoked tokens included; each token then
speaks as its user."""

from __future__ import annotations

import asyncio
import datetime as dt
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
TOKEN = text(
    "INSERT INTO api_tokens (id, name, role, digest, hint, created_at, created_by, revoked_at) "
    "VALUES (:id, :name, :role, :digest, 'sit_…x', :at, 'cli', :revoked)"
)


async def _old_tokens(db: AsyncConnection) -> None:
    rows = [  # bob: an admin token, revoked, then a viewer one; carol: one uploader token
        ("b1", "bob", "admin", NOW - dt.timedelta(days=9), NOW - dt.timedelta(days=2)),
        ("b2", "bob", "viewer", NOW - dt.timedelta(days=1), None),
        ("c1", "carol", "uploader", NOW - dt.timedelta(days=5), None),
    ]
    for token_id, name, role, at, revoked in rows:
        await db.execute(
            TOKEN,
            {"id": token_id, "name": name, "role": role, "digest": token_id * 8, "at": at,
             "revoked": revoked},
        )  # fmt: skip


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_every_token_name_becomes_a_user(
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
    await asyncio.to_thread(command.upgrade, config, "20261204_0009")
    engine = create_async_engine(url)
    async with engine.begin() as db:
        await _old_tokens(db)
    await asyncio.to_thread(command.upgrade, config, "head")
    async with engine.connect() as db:
        people = {
            name: (user_id, role, display)
            for user_id, name, role, display in await db.execute(
                text("SELECT id, name, role, display_name FROM users")
            )
        }
        rows = await db.execute(text("SELECT id, user_id FROM api_tokens"))
        owners = {row[0]: row[1] for row in rows}
    await engine.dispose()
    assert {n: (r, d) for n, (_, r, d) in people.items()} == {
        "bob": ("viewer", "bob"),
        "carol": ("uploader", "carol"),
    }
    assert owners == {"b1": people["bob"][0], "b2": people["bob"][0], "c1": people["carol"][0]}
    await asyncio.to_thread(command.downgrade, config, "20261204_0009")

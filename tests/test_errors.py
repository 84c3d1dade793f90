"""A request that cannot get the metadata database in time (SQLite's write lock held elsewhere,
the pool exhausted under load) is answered 503 with Retry-After, on REST and GraphQL, and the same
request succeeds once the database is free: never a 500 (seen under load before the fix)."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from backend.errors import as_app_error
from tests.conftest import Backend, app_for
from tests.factories import sales_csv, wait_for_task
from tests.services import PostgresCluster


@asynccontextmanager
async def write_lock_held(database_url: str) -> AsyncIterator[None]:
    """Another program holds the SQLite database's write lock.

    Taken without blocking the event loop: the app under test runs on this loop, and a write
    transaction of its own (a worker's heartbeat) can only commit, and let go of the lock, when
    the loop turns. Waiting on the loop's thread deadlocked until SQLite gave up (seen in CI).
    """
    path = make_url(database_url).database
    assert path
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                other.execute("BEGIN EXCLUSIVE")
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.01)
        yield
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


async def test_a_busy_database_is_answered_503_and_the_request_can_be_sent_again(
    embedded: Backend,
) -> None:
    settings = embedded.settings.model_copy(update={"database_wait_seconds": 0.3})
    async with app_for(dataclasses.replace(embedded, settings=settings)) as app:
        upload = {"file": ("busy.csv", sales_csv(rows=20, seed=41))}
        async with write_lock_held(settings.database_url):
            refused = await app.client.post(
                "/api/ingest/upload", files=upload, data={"datasource_name": "sales"}
            )
            mutation = await app.client.post(
                "/graphql", json={"query": "mutation { setSigmaMode(mode: STANDALONE) { mode } }"}
            )
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "busy"
        assert refused.headers["Retry-After"] == "2"
        assert "Internal" not in refused.text
        assert mutation.status_code in (200, 503), mutation.text
        errors = mutation.json().get("errors") or [mutation.json()]
        assert "busy" in str(errors).lower(), mutation.text
        assert "Unexpected error" not in mutation.text

        again = await app.client.post(
            "/api/ingest/upload", files=upload, data={"datasource_name": "sales"}
        )
        assert again.status_code == 202, again.text
        task = await wait_for_task(app.client, again.json()["task_id"])
        assert task["status"] == "succeeded", task
        tasks = (await app.client.get("/api/ingest/tasks")).json()
        assert len(tasks["items"]) == 1  # the refused upload left no task behind


async def test_a_transaction_postgresql_ends_to_break_a_deadlock_is_a_busy_503(
    postgres: PostgresCluster,
) -> None:
    """Two transactions locking the same rows in opposite orders: PostgreSQL rolls one back
    (40P01). The request it served is answered 503 "busy, try again", never a 500 (seen when an
    action was deleted while a worker ran it)."""
    engine = create_async_engine(postgres.url("postgres"))  # not the tests' template database
    try:
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(
                text("CREATE TABLE IF NOT EXISTS deadlock_pair (id int primary key)")
            )
            await first.execute(
                text("INSERT INTO deadlock_pair VALUES (1), (2) ON CONFLICT DO NOTHING")
            )
            await first.commit()
            await first.execute(text("SELECT id FROM deadlock_pair WHERE id = 1 FOR UPDATE"))
            await second.execute(text("SELECT id FROM deadlock_pair WHERE id = 2 FOR UPDATE"))
            crossed = await asyncio.gather(
                first.execute(text("SELECT id FROM deadlock_pair WHERE id = 2 FOR UPDATE")),
                second.execute(text("SELECT id FROM deadlock_pair WHERE id = 1 FOR UPDATE")),
                return_exceptions=True,
            )
            [ended] = [e for e in crossed if isinstance(e, BaseException)]
            error = as_app_error(ended)
            assert error is not None and error.status_code == 503, ended
            assert "Try again" in (error.detail or "")
            await first.rollback()
            await second.rollback()
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DROP TABLE IF EXISTS deadlock_pair"))
        await engine.dispose()

"""The session scope when the task using it is cancelled (a worker told to stop, a client that went
away): whatever moment the cancellation lands on, the transaction ends, and nothing is left
holding SQLite's write lock for the next writer to wait on until its time-out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from backend.db import (
    SessionMaker,
    create_engine,
    create_sessionmaker,
    on_rollback,
    session_scope,
)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionMaker]:
    """A SQLite metadata database with one table, `rows (n)`; writers wait 2 s for its lock."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'metadata.db'}", wait_seconds=2)
    made = create_sessionmaker(engine)
    async with session_scope(made) as session:
        await session.execute(text("CREATE TABLE rows (n INTEGER)"))
    try:
        yield made
    finally:
        await engine.dispose()


async def test_writers_cancelled_at_any_moment_leave_the_database_writable(
    sessions: SessionMaker,
) -> None:
    async def write_forever() -> None:
        while True:
            async with session_scope(sessions) as session:
                await session.execute(text("INSERT INTO rows VALUES (1)"))
                await session.execute(text("SELECT count(*) FROM rows"))
            await asyncio.sleep(0)

    # Each round cancels four busy writers at another moment of their transactions (before
    # the fix, about one round in twelve left the write lock held by a connection no one
    # would ever roll back).
    for round_ in range(60):
        writers = [asyncio.create_task(write_forever()) for _ in range(4)]
        await asyncio.sleep(0.002 * (round_ % 30))
        for writer in writers:
            writer.cancel()
        results = await asyncio.gather(*writers, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results), results
        async with session_scope(sessions) as session:
            await session.execute(text("INSERT INTO rows VALUES (2)"))
    async with session_scope(sessions) as session:
        written = (await session.execute(text("SELECT count(*) FROM rows WHERE n = 2"))).one()
    assert written == (60,)


async def test_a_commit_under_way_when_cancelled_is_not_undone(sessions: SessionMaker) -> None:
    """A cancellation that lands while the commit is being written must not run the rollback
    callbacks (they delete the stored upload of a task whose row did commit)."""
    for round_ in range(200):
        undone: list[int] = []

        async def write(n: int, undone: list[int]) -> None:
            async with session_scope(sessions) as session:
                await session.execute(text("INSERT INTO rows VALUES (:n)"), {"n": n})

                async def undo() -> None:
                    undone.append(n)

                on_rollback(session, undo)

        writer = asyncio.create_task(write(round_, undone))
        for _ in range(round_ % 50):
            await asyncio.sleep(0)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        async with session_scope(sessions) as session:
            stored = (
                await session.execute(text("SELECT count(*) FROM rows WHERE n = :n"), {"n": round_})
            ).scalar_one()
        # The row is there and nothing was undone, or it is not there (undone, or the
        # writer was cancelled before it began).
        assert (stored, undone) in ((1, []), (0, [round_]), (0, [])), (round_, stored, undone)

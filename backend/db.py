"""Database engine, session scope and the declarative Base shared by every domain package."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy.exc
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SessionMaker = async_sessionmaker[AsyncSession]
T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _prepare_sqlite(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(wait_seconds: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Python's sqlite3 opens transactions lazily; we issue BEGIN ourselves (_sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        cursor.close()

    return on_connect


def _sqlite_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so concurrent writers wait (busy_timeout)
    # instead of failing with SQLITE_BUSY when a read transaction later tries to write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def _sqlite_invalidated(dbapi_connection: Any, _record: Any, _exception: Any) -> None:
    # SQLAlchemy drops a connection whose statement was interrupted (a task cancelled while its
    # BEGIN IMMEDIATE waited for the write lock, or mid-statement) and closes it without a
    # rollback. A statement still referenced (by the cancelled task's traceback, kept with the
    # task) makes that close a deferred one, which keeps the connection's transaction, and so
    # SQLite's write lock, until the statement is freed. Rolled back first, it holds nothing.
    # Queued in the connection's thread, the rollback also waits for a BEGIN still under way.
    with contextlib.suppress(Exception):  # outside an async call (garbage collection): closed as is
        dbapi_connection.rollback()


def create_engine(url: str, *, read_only: bool = False, wait_seconds: float = 30.0) -> AsyncEngine:
    """`read_only` (SQLite): transactions start deferred, so readers never wait for the write
    lock (WAL lets them read while a writer works). Use it only for sessions that do not write.
    `wait_seconds` bounds the wait for a pooled connection and for SQLite's write lock; past it
    the request fails with a 503 (backend.errors.as_app_error)."""
    if url.startswith("sqlite"):
        _prepare_sqlite(url)
        engine = create_async_engine(
            url, connect_args={"timeout": wait_seconds}, pool_timeout=wait_seconds
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(wait_seconds))
        event.listen(
            engine.sync_engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin
        )
        event.listen(engine.sync_engine.pool, "invalidate", _sqlite_invalidated)
        return engine
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_timeout=wait_seconds
    )


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AFTER_COMMIT = "after_commit"
ON_ROLLBACK = "on_rollback"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (dropped on rollback)."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def on_rollback(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run `callback` if the session's transaction does not commit (undo work done outside the
    database for it, such as a stored upload)."""
    session.info.setdefault(ON_ROLLBACK, []).append(callback)


@asynccontextmanager
async def session_scope(sessions: SessionMaker) -> AsyncIterator[AsyncSession]:
    """The one transaction owner: commits on success, rolls back on any error (a failed commit
    included), then runs the callbacks registered for the outcome. The ending (commit, rollback,
    close) runs to its end even when the task is cancelled meanwhile (the cancellation is raised
    after it): a cancellation landing there left SQLite's write lock held by a connection no one
    would roll back, or undid the work of a commit that went through."""
    session = sessions()
    try:
        try:
            yield session
        except BaseException:
            await _uncancelled(_roll_back(session))
            raise
        await _uncancelled(_commit(session))
    finally:
        await _uncancelled(session.close())


async def end_session(session: AsyncSession, *, failed: bool) -> None:
    """session_scope's ending, for a session opened on first use (a GraphQL request's): commits
    (or rolls back when the work `failed`), runs the callbacks for the outcome, closes it; to its
    end, as session_scope's."""
    try:
        await _uncancelled(_roll_back(session) if failed else _commit(session))
    finally:
        await _uncancelled(session.close())


async def _uncancelled(work: Coroutine[Any, Any, T]) -> T:
    """`work` run to its end even if the task awaiting it is cancelled meanwhile; that
    cancellation is raised once it has ended."""
    running = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(running)
        except asyncio.CancelledError:
            if running.done():  # the work itself was cancelled (the loop is closing)
                raise
            cancelled = True
            continue
        except BaseException as exc:
            if cancelled:
                raise asyncio.CancelledError from exc
            raise
        if cancelled:
            raise asyncio.CancelledError
        return result


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except BaseException:
        await _roll_back(session)
        raise
    session.info.pop(ON_ROLLBACK, None)
    for callback in session.info.pop(AFTER_COMMIT, []):
        callback()


async def _roll_back(session: AsyncSession) -> None:
    await session.rollback()
    for undo in session.info.pop(ON_ROLLBACK, []):
        await undo()


# The database drivers and SQLAlchemy: an OSError raised in their code is the connection to the
# database failing (asyncpg raises ConnectionRefusedError, or an OSError naming every address it
# tried, without wrapping it in a DB-API error).
_DATABASE_MODULES = ("asyncpg", "sqlalchemy", "aiosqlite")


def database_unreachable(error: BaseException | None) -> bool:
    """The metadata database cannot be reached: refused, reset, timed out, closed under us."""
    if isinstance(error, sqlalchemy.exc.InterfaceError):
        return True  # asyncpg: the connection was closed (the server went away)
    if isinstance(error, sqlalchemy.exc.OperationalError) and _connection_failed(error.orig):
        return True
    if not isinstance(error, OSError) or getattr(error, "errno", None) == errno.ENOSPC:
        return False
    return _connection_failed(error) and _raised_in(error, _DATABASE_MODULES)


def _connection_failed(error: BaseException | None) -> bool:
    return isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)) or (
        isinstance(error, OSError) and (error.errno is None or error.errno in _NETWORK_ERRNOS)
    )


_NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
)


def _raised_in(error: BaseException, modules: tuple[str, ...]) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if module.split(".")[0] in modules:
            return True
        traceback = traceback.tb_next
    return False

"""Live task updates for SSE and GraphQL subscriptions: every recorded event of a task, in order,
and progress ticks (status, percent, rows read/valid/rejected) between them, until the task is
final.

Updates are read from the database, so they work whichever process runs the worker. A stream
waits between reads for a wake-up: on PostgreSQL a NOTIFY sent by triggers on the task and event
tables (one LISTEN connection per process), elsewhere (SQLite) a short poll.

Ids: an event's id is its row id ("42"); a tick after it is "42.n". Resuming after either id
(SSE Last-Event-ID) sends every event after event 42 again in order, then the current state, so
nothing recorded is lost and a tick is never older than what the client has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth import visibility
from backend.auth.principal import Principal
from backend.db import SessionMaker, session_scope
from backend.digits import ascii_count
from backend.errors import InvalidInput, NotFound
from backend.tasks import repository
from backend.tasks.models import TERMINAL_STATUSES, IngestionTask, TaskStatus

log = logging.getLogger(__name__)
CHANNEL = "ingest_task_updates"
POLL_SECONDS = 0.25  # SQLite, or PostgreSQL while the LISTEN connection is down
MAX_EVENTS_PER_READ = 500
ANY_TASK = "*"  # watch every task (a task list page)
MAX_CHANGES_PER_READ = 200


@dataclass(frozen=True)
class Progress:
    status: str
    progress: float
    rows_read: int | None
    rows_valid: int | None
    rows_rejected: int | None

    @classmethod
    def of(cls, task: IngestionTask) -> Progress:
        return cls(task.status, task.progress, task.rows_read, task.rows_valid, task.rows_rejected)


@dataclass(frozen=True)
class Update:
    id: str
    kind: str  # "event" (a recorded state change) or "progress" (a tick)
    task_id: str
    progress: Progress
    at: str | None = None
    status: str | None = None
    message: str | None = None
    final: bool = False

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "task_id": self.task_id,
            "status": self.progress.status,
            "progress": self.progress.progress,
            "rows_read": self.progress.rows_read,
            "rows_valid": self.progress.rows_valid,
            "rows_rejected": self.progress.rows_rejected,
            "final": self.final,
        }
        if self.kind == "event":
            body["event"] = {"at": self.at, "status": self.status, "message": self.message}
        return body


def parse_last_id(value: str | None) -> int:
    """The event id a client has seen ("42" or "42.3"), 0 for none."""
    if not value:
        return 0
    head = ascii_count(value.strip().split(".", 1)[0])
    if head is None:
        raise InvalidInput(
            f"not an event id: {value[:40]!r}",
            "Send back an id this stream gave you (Last-Event-ID), or none to start over.",
        )
    return head


@dataclass
class Wakeups:
    """Where streams wait for news of their task. `notify` is called by the LISTEN connection
    (PostgreSQL); without one, waits end after POLL_SECONDS."""

    listening: bool = False
    _waiters: dict[str, set[asyncio.Event]] = field(default_factory=lambda: defaultdict(set))

    def notify(self, task_id: str) -> None:
        for event in (*self._waiters.get(task_id, ()), *self._waiters.get(ANY_TASK, ())):
            event.set()

    @contextlib.contextmanager
    def watching(self, task_id: str) -> Iterator[asyncio.Event]:
        """An event set on news of the task, registered for the whole stream (clear it before
        each read: news arriving during the read is then not missed)."""
        event = asyncio.Event()
        self._waiters[task_id].add(event)
        try:
            yield event
        finally:
            self._waiters[task_id].discard(event)
            if not self._waiters[task_id]:
                del self._waiters[task_id]


class Listener:
    """One LISTEN connection per process on PostgreSQL, reconnecting when it drops."""

    def __init__(self, engine: AsyncEngine, wakeups: Wakeups) -> None:
        self.engine = engine
        self.wakeups = wakeups
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self.wakeups.listening = False

    async def _run(self) -> None:
        while True:
            try:
                async with self.engine.connect() as connection:
                    raw = await connection.get_raw_connection()
                    driver: Any = raw.driver_connection

                    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
                        self.wakeups.notify(payload)

                    await driver.add_listener(CHANNEL, on_notify)
                    self.wakeups.listening = True
                    try:
                        while not driver.is_closed():
                            await asyncio.sleep(5)
                    finally:
                        self.wakeups.listening = False
                        with contextlib.suppress(Exception):
                            await driver.remove_listener(CHANNEL, on_notify)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "task updates: LISTEN connection lost (%s); polling meanwhile",
                    type(exc).__name__,
                )
                await asyncio.sleep(2)


async def updates(
    sessions: SessionMaker,
    wakeups: Wakeups,
    task_id: str,
    after: int = 0,
    keepalive: float = 15.0,
    viewer: Principal | None = None,
) -> AsyncGenerator[Update | None, None]:
    """The task's updates after event `after`, ending with the final one, as `viewer` may see
    them (a worker's name for admins only). Yields None when nothing happened for `keepalive`
    seconds (an SSE comment keeps proxies from closing)."""
    with wakeups.watching(task_id) as news:
        last_event, tick, sent, quiet = after, 0, None, 0.0
        while True:
            news.clear()
            async with session_scope(sessions) as session:
                task = await repository.find(session, task_id, events=False)
                if task is None:
                    raise NotFound(f"no task {task_id[:64]!r}", "Check the task id.")
                events = await repository.events_after(
                    session, task_id, last_event, MAX_EVENTS_PER_READ
                )
            now = Progress.of(task)
            final = (
                TaskStatus(task.status) in TERMINAL_STATUSES and len(events) < MAX_EVENTS_PER_READ
            )
            for index, event in enumerate(events):
                last_event, tick = event.id, 0
                yield Update(
                    str(event.id),
                    "event",
                    task_id,
                    now,
                    at=event.at.isoformat(),
                    status=event.status,
                    message=visibility.worker_text(event.message, viewer),
                    final=final and index == len(events) - 1,
                )
            if events:
                sent, quiet = now, 0.0
            elif now != sent:
                tick += 1
                sent, quiet = now, 0.0
                yield Update(f"{last_event}.{tick}", "progress", task_id, now, final=final)
            if final:
                return
            waited = 5.0 if wakeups.listening else POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), waited)
            quiet += waited
            if quiet >= keepalive:
                quiet = 0.0
                yield None


@dataclass(frozen=True)
class TaskChange:
    """A task of the list whose state changed: what a task list row shows."""

    task_id: str
    datasource: str
    filename: str
    progress: Progress
    updated_at: str


async def task_changes(
    sessions: SessionMaker, wakeups: Wakeups, datasource: str | None
) -> AsyncGenerator[TaskChange, None]:
    """Every change of a task (of `datasource`, or any) from now on: status, progress and rows,
    from any process, as it is recorded. Runs until the client leaves."""
    async with session_scope(sessions) as session:
        since, latest = await repository.latest_changed(session)
        # what the client has already (the list it loaded): only later changes are sent
        seen: dict[str, tuple[Any, ...]] = {t.id: (Progress.of(t), t.updated_at) for t in latest}
    with wakeups.watching(ANY_TASK) as news:
        while True:
            news.clear()
            async with session_scope(sessions) as session:
                tasks = await repository.changed_since(
                    session, since, datasource, MAX_CHANGES_PER_READ
                )
            for task in tasks:
                state = Progress.of(task)
                if seen.get(task.id) == (state, task.updated_at):
                    continue  # read again at the same instant (>=): already sent
                seen[task.id] = (state, task.updated_at)
                yield TaskChange(
                    task.id, task.datasource, task.filename, state, task.updated_at.isoformat()
                )
            advanced = bool(tasks) and tasks[-1].updated_at != since
            if tasks:
                since = tasks[-1].updated_at
                seen = {k: v for k, v in seen.items() if v[1] >= since}
            if len(tasks) == MAX_CHANGES_PER_READ and advanced:
                continue  # more are waiting
            waited = 5.0 if wakeups.listening else POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), waited)

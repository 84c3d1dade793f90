"""What a worker slot does while it holds a task's lease: move the task on (only while it still
holds it), keep the lease alive, and write the rows read so far as progress ticks."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import SessionMaker, session_scope, utcnow
from backend.pipeline import normalize
from backend.redaction import scrub
from backend.tasks import lifecycle, repository
from backend.tasks.models import TaskStatus

log = logging.getLogger(__name__)
PROGRESS_TICK_SECONDS = 0.5


@dataclass
class Holder:
    """A worker slot, as the holder of its task's lease."""

    sessions: SessionMaker
    owner: str
    stages: lifecycle.Stages = field(default_factory=lifecycle.Stages)
    progress: normalize.Progress | None = None  # the rows the running reader has read

    async def move(
        self,
        task_id: str,
        status: TaskStatus,
        message: str,
        *,
        also: Callable[[AsyncSession], Awaitable[None]] | None = None,
        **values: Any,
    ) -> None:
        """Move the task on, only while this worker still holds it (LeaseLost otherwise)."""
        async with session_scope(self.sessions) as session:
            await lifecycle.advance(
                session, task_id, status, message, owner=self.owner, stages=self.stages, **values
            )
            if also is not None:
                await also(session)
        if status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED):
            log.info("task %s %s: %s", task_id, status.value, scrub(message)[:300])

    async def keep_trace(self, task_id: str, context: dict[str, str]) -> None:
        async with session_scope(self.sessions) as session:
            await repository.set_columns(session, task_id, trace_context=context)

    async def ticks(self, task_id: str) -> None:
        """The rows the reader has read so far, written as each batch is read (at most every
        PROGRESS_TICK_SECONDS): live streams show them as progress ticks."""
        written = 0
        while True:
            await asyncio.sleep(PROGRESS_TICK_SECONDS)
            rows = self.progress.rows if self.progress is not None else 0
            if rows <= written:
                continue
            try:
                async with session_scope(self.sessions) as session:
                    await repository.set_columns(
                        session, task_id, self.owner, rows_read=rows, updated_at=utcnow()
                    )
                written = rows
            except SQLAlchemyError as exc:  # a tick is not worth failing the task for
                log.warning("task %s: progress not recorded: %s", task_id, type(exc).__name__)

    async def heartbeat(self, task_id: str, lease_seconds: float) -> None:
        """Extend the lease every third of it, until the task is no longer this worker's."""

        async def extend(expires: dt.datetime) -> bool:
            values: dict[str, Any] = {"lease_expires_at": expires}
            if self.progress is not None and self.progress.rows:
                values["rows_read"] = self.progress.rows  # visible while a big file is read
            async with session_scope(self.sessions) as session:
                return await repository.set_columns(session, task_id, self.owner, **values)

        await keep_lease(extend, lease_seconds)


async def keep_lease(
    extend: Callable[[dt.datetime], Awaitable[bool]], lease_seconds: float
) -> None:
    """Extend a lease every third of it (`extend` gets the new expiry), until `extend` says the
    work is no longer this worker's: tasks and actions' runs keep their leases alike."""
    interval = lease_seconds / 3
    while True:
        await asyncio.sleep(interval)
        if not await extend(utcnow() + dt.timedelta(seconds=lease_seconds)):
            return

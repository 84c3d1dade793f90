"""Managing ingestion tasks: reading and listing them, cancel and retry, which both REST and
GraphQL call (their views are `backend.ingestion.schemas`).
Uploads arrive through backend.ingestion.intake (one flow for REST, GraphQL and seed) and
become tasks in backend.ingestion.acceptance.

Services flush; the caller's scope (request or worker) commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import SYSTEM, Principal
from backend.auth.roles import Role
from backend.db import SessionMaker, session_scope, utcnow
from backend.errors import Conflict, Forbidden, NotFound
from backend.ingestion import access
from backend.ingestion.acceptance import WAKE_WORKERS, find_duplicate
from backend.ingestion.uploads import (
    DATASOURCE_PATTERN,
    StagedUpload,
    upload_options,
    validate_datasource_name,
)
from backend.monitoring.metrics import Registry
from backend.paging import check_page
from backend.pipeline import remedies
from backend.pipeline.normalize import LoadMode
from backend.tasks import lifecycle, repository
from backend.tasks.models import ACTIVE_STATUSES, TERMINAL_STATUSES, IngestionTask, TaskStatus
from backend.worker.processing import rejected_key

__all__ = [
    "DATASOURCE_PATTERN",
    "MAX_TASKS_PAGE",
    "WAKE_WORKERS",
    "StagedUpload",
    "TaskPage",
    "cancel",
    "get_task",
    "list_tasks",
    "queue_state",
    "rejected_rows",
    "retry",
    "upload_options",
    "validate_datasource_name",
]

log = logging.getLogger(__name__)

MAX_TASKS_PAGE = 200


@dataclass(frozen=True)
class TaskPage:
    items: list[IngestionTask]
    total: int
    limit: int
    offset: int


async def get_task(session: AsyncSession, task_id: str, *, lock: bool = False) -> IngestionTask:
    """`lock`: held until the transaction ends (PostgreSQL row lock; SQLite's write
    transactions are serialised already), for a change that depends on the task's state."""
    task = await repository.find(session, task_id, lock=lock)
    if task is None:
        raise NotFound(
            f"no ingestion task with id {task_id[:64]!r}",
            "Use the task_id returned by the upload, or list tasks at GET /api/ingest/tasks.",
        )
    return task


async def list_tasks(
    session: AsyncSession,
    *,
    datasource: str | None = None,
    status: TaskStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TaskPage:
    check_page(limit, offset, MAX_TASKS_PAGE)
    items, total = await repository.page(
        session, datasource=datasource, status=status, limit=limit, offset=offset
    )
    return TaskPage(items=items, total=total, limit=limit, offset=offset)


# What a retry starts from: everything is done again, including a new Druid task (the old one
# failed or never ran).
_FRESH: dict[str, Any] = {
    "attempts": 0,
    "error": None,
    "report": None,
    "rows_read": None,
    "rows_valid": None,
    "rows_rejected": None,
    "progress": 0.0,
    "finished_at": None,
    "lease_owner": None,
    "lease_expires_at": None,
    "druid_task_id": None,
    "druid_report": None,
    "druid_rollup": None,
    "next_attempt_at": None,
    "data_as_of": None,
    "dataset_key": None,
}


def check_owner(task: IngestionTask, actor: Principal, action: str) -> None:
    """An uploader may act only on its own tasks; an admin on any."""
    if actor.allows(Role.ADMIN) or (task.created_by is not None and task.created_by == actor.id):
        return
    raise Forbidden(
        f"task {task.id} was uploaded by someone else: only its uploader or an admin may {action} it",
        "Ask an admin, or act on your own tasks.",
    )


async def retry(session: AsyncSession, task_id: str, actor: Principal = SYSTEM) -> IngestionTask:
    task = await get_task(session, task_id, lock=True)
    check_owner(task, actor, "retry")
    await access.require_write(session, task.datasource, actor, "load into it")
    if task.status not in (TaskStatus.FAILED.value, TaskStatus.CANCELLED.value):
        finished = task.status == TaskStatus.SUCCEEDED.value
        raise Conflict(
            f"task {task_id} is {task.status} and cannot be retried",
            "Only failed or cancelled tasks can be retried; its data is loaded already."
            if finished
            else "Only failed or cancelled tasks can be retried; wait for this one to finish.",
        )
    # The same bytes may have been loaded since (sent again, e.g. with evolve=...): a retry
    # would load them twice, which an upload of the same bytes is refused for too.
    await repository.lock_content(session, task.datasource, task.sha256)
    other = await find_duplicate(session, task.datasource, task.sha256, task.options.get("sheet"))
    replacing = task.options.get("mode") == LoadMode.REPLACE.value
    if other is not None and not task.options.get("force") and not replacing:
        raise Conflict(
            f"task {other.id} has the same file for datasource {task.datasource!r} and is "
            f"{other.status}: retrying {task_id} would load it twice",
            "Follow that task instead.",
            [remedies.force()],  # loading the bytes a second time on purpose
        )
    lifecycle.move(
        session,
        task,
        TaskStatus.QUEUED,
        "retry requested",
        record=lifecycle.Audit(actor.label, "retry"),
        **_FRESH,
    )
    await session.flush()
    session.info[WAKE_WORKERS] = True
    return task


async def cancel(
    session: AsyncSession,
    task_id: str,
    actor: Principal = SYSTEM,
    metrics: Registry | None = None,
) -> IngestionTask:
    """Cancel a queued or running task (`metrics` counts it among final states, once committed:
    the worker running it only sees its lease go). The task is locked while its state is checked:
    a worker recording its end meanwhile makes this a 409, not an overwrite."""
    task = await get_task(session, task_id, lock=True)
    check_owner(task, actor, "cancel")
    status = TaskStatus(task.status)
    if status in TERMINAL_STATUSES:
        raise Conflict(
            f"task {task_id} is already {task.status}",
            "Only queued or running tasks can be cancelled.",
        )
    running = status in ACTIVE_STATUSES
    lifecycle.move(
        session,
        task,
        TaskStatus.CANCELLED,
        "cancelled while running; the worker stops at its next step" if running else "cancelled",
        record=lifecycle.Audit(actor.label, "cancel", {"was": status.value}),
        stages=lifecycle.Stages(metrics) if metrics is not None else None,
        lease_owner=None,
        lease_expires_at=None,
        finished_at=utcnow(),
    )
    await session.flush()
    return task


async def rejected_rows(session: AsyncSession, task_id: str, actor: Principal = SYSTEM) -> str:
    """The storage key of a task's rejected rows CSV: raw values never loaded, for the task's
    uploader and admins only."""
    task = await get_task(session, task_id)
    if not access.may_read_rejected(task.created_by, actor):
        raise Forbidden(
            f"the rejected rows of task {task.id} are readable by its uploader and admins only",
            "Ask the uploader or an admin; the task's report says which checks failed.",
        )
    if not task.rows_rejected or not task.report or not task.report.get("rejected_rows_key"):
        raise NotFound(
            f"task {task_id} has no rejected rows",
            "Rejected rows exist once a task has finished validating and found invalid rows.",
        )
    return rejected_key(task.id)


async def queue_state(sessions: SessionMaker) -> tuple[int, float]:
    """Tasks waiting for a worker, and how long the oldest has waited (seconds; 0 when none)."""
    async with session_scope(sessions) as session:
        depth, oldest = await repository.queued(session)
    if not depth or oldest is None:
        return 0, 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(depth), max(0.0, (utcnow() - oldest).total_seconds())

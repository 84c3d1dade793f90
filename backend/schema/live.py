"""GraphQL subscriptions (graphql-transport-ws): a task's updates live, as SSE gives them."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from backend.ingestion.service import validate_datasource_name
from backend.schema.context import Info
from backend.schema.permissions import IsViewer, require_still_allowed
from backend.tasks import live
from backend.tasks.models import TaskStatus


@strawberry.type(description="A recorded state change of a task")
class TaskUpdateEvent:
    at: str
    status: TaskStatus
    message: str


@strawberry.type(description="One update of a task: a recorded event, or a progress tick")
class TaskUpdate:
    id: str = strawberry.field(description="Resume after it by passing it as `after`")
    kind: str = strawberry.field(description="event or progress")
    task_id: strawberry.ID
    status: TaskStatus
    progress: float
    rows_read: int | None
    rows_valid: int | None
    rows_rejected: int | None
    final: bool
    event: TaskUpdateEvent | None

    @classmethod
    def of(cls, update: live.Update) -> TaskUpdate:
        state = update.progress
        event = (
            TaskUpdateEvent(
                at=update.at or "", status=TaskStatus(update.status), message=update.message or ""
            )
            if update.kind == "event" and update.status is not None
            else None
        )
        return cls(
            id=update.id,
            kind=update.kind,
            task_id=strawberry.ID(update.task_id),
            status=TaskStatus(state.status),
            progress=state.progress,
            rows_read=state.rows_read,
            rows_valid=state.rows_valid,
            rows_rejected=state.rows_rejected,
            final=update.final,
            event=event,
        )


@strawberry.type(description="A task of a task list whose state changed")
class TaskListUpdate:
    task_id: strawberry.ID
    datasource: str
    filename: str
    status: TaskStatus
    progress: float
    rows_read: int | None
    rows_valid: int | None
    rows_rejected: int | None
    updated_at: str

    @classmethod
    def of(cls, change: live.TaskChange) -> TaskListUpdate:
        state = change.progress
        return cls(
            task_id=strawberry.ID(change.task_id),
            datasource=change.datasource,
            filename=change.filename,
            status=TaskStatus(state.status),
            progress=state.progress,
            rows_read=state.rows_read,
            rows_valid=state.rows_valid,
            rows_rejected=state.rows_rejected,
            updated_at=change.updated_at,
        )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsViewer],
        description="A task's recorded events in order and progress ticks, until it is final "
        "(then the subscription completes)",
    )
    async def ingestion_task_updates(
        self, info: Info, task_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[TaskUpdate, None]:
        runtime = info.context.runtime
        stream = live.updates(
            runtime.reading(),
            runtime.wakeups,
            str(task_id),
            live.parse_last_id(after),
            viewer=info.context.principal,
        )
        try:
            async for update in stream:
                await require_still_allowed(info)  # on quiet ticks too: a queued task may wait long
                if update is None:
                    continue
                yield TaskUpdate.of(update)
                if update.final:
                    return
        finally:
            await stream.aclose()

    @strawberry.subscription(
        permission_classes=[IsViewer],
        description="Changes of tasks (of `datasource`, or of any) from now on: new uploads, "
        "status, progress and rows, for a live task list; each update is a task's latest state "
        "(states passed within one read are coalesced). Runs until the client stops",
    )
    async def ingestion_tasks_updates(
        self, info: Info, datasource: str | None = None
    ) -> AsyncGenerator[TaskListUpdate, None]:
        if datasource is not None:
            datasource = validate_datasource_name(datasource)
        runtime = info.context.runtime
        stream = live.task_changes(runtime.reading(), runtime.wakeups, datasource)
        try:
            async for change in stream:
                await require_still_allowed(info)
                yield TaskListUpdate.of(change)
        finally:
            await stream.aclose()

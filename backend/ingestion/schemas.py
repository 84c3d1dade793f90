"""Pydantic views of ingestion tasks, shared by the REST responses (and their OpenAPI docs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from backend.ingestion.models import IngestionTask, TaskEvent


class TaskError(BaseModel):
    code: str
    message: str
    detail: str | None = None


class TaskEventOut(BaseModel):
    at: dt.datetime
    status: str
    message: str
    detail: dict[str, Any] | None = None

    @classmethod
    def of(cls, event: TaskEvent) -> TaskEventOut:
        return cls(at=event.at, status=event.status, message=event.message, detail=event.detail)


class TaskStatusOut(BaseModel):
    task_id: str
    status: str = Field(description="queued, validating, loading, succeeded, failed or cancelled")
    datasource: str
    filename: str
    file_format: str
    size_bytes: int
    sha256: str
    progress: float
    rows_read: int | None
    rows_valid: int | None
    rows_rejected: int | None
    error: TaskError | None
    report: dict[str, Any] | None
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    events: list[TaskEventOut]

    @classmethod
    def of(cls, task: IngestionTask) -> TaskStatusOut:
        return cls(
            task_id=task.id,
            status=task.status,
            datasource=task.datasource,
            filename=task.filename,
            file_format=task.file_format,
            size_bytes=task.size_bytes,
            sha256=task.sha256,
            progress=task.progress,
            rows_read=task.rows_read,
            rows_valid=task.rows_valid,
            rows_rejected=task.rows_rejected,
            error=TaskError.model_validate(task.error) if task.error else None,
            report=task.report,
            attempts=task.attempts,
            created_at=task.created_at,
            updated_at=task.updated_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
            events=[TaskEventOut.of(e) for e in task.events],
        )


class UploadAccepted(BaseModel):
    task_id: str
    status: str
    status_url: str
    duplicate: bool = Field(
        description="true when these bytes were already uploaded to the datasource"
    )
    datasource: str
    filename: str
    file_format: str
    size_bytes: int
    sha256: str


class TaskPageOut(BaseModel):
    items: list[TaskStatusOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None

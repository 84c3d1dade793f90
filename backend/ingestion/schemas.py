"""Pydantic views of tasks, their reports and datasources: the one definition of each shape a
client sees. REST answers with these models (and documents them in OpenAPI); the GraphQL types
are derived from them (backend/schema, Strawberry's Pydantic integration), so a field is added
here once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from backend.analytics.service import DatasourceInfo
from backend.auth import visibility
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.config import Settings
from backend.druid_load import druid_datasource
from backend.ingestion import access, datasources
from backend.ingestion.preview_out import PreviewOut, PreviewOverridesOut
from backend.monitoring import tracing
from backend.pipeline import remedies
from backend.pipeline.remedies import Door, Remedy
from backend.tasks.models import IngestionTask, TaskEvent, TaskStatus


class RemedyOut(BaseModel):
    action: str = Field(
        description="force (load the same file again), skip_invalid (load the valid rows), "
        "evolve (let the file change the schema) or retry (run the task again)"
    )
    options: dict[str, Any] = Field(
        description="the upload options that carry it out, as REST's form fields"
    )
    advice: str = Field(description="what to do, in this door's terms")


class TaskError(BaseModel):
    code: str
    message: str
    detail: str | None = None
    remedies: list[RemedyOut] = Field(
        default_factory=list,
        description="actions that would get the file loaded, also worded in detail",
    )
    plain_detail: str | None = Field(
        default=None,
        description="detail without the remedies' advice, for a client that offers them as its "
        "own controls",
    )

    @classmethod
    def of(cls, error: dict[str, Any], door: Door = Door.REST) -> TaskError:
        """A failed task's error worded for `door` (one stored before remedies as it was)."""
        if "remedies" not in error:  # its detail says what to do already, in REST's terms
            return cls(
                code=error["code"],
                message=error["message"],
                detail=error.get("detail"),
                plain_detail=error.get("detail"),
                remedies=[remedy_out(r, door) for r in remedies.of_error(error)],
            )
        found = remedies.of_error(error)
        return cls(
            code=error["code"],
            message=error["message"],
            detail=remedies.detail(error.get("detail"), found, door),
            plain_detail=error.get("detail"),
            remedies=[remedy_out(r, door) for r in found],
        )


def remedy_out(item: Remedy, door: Door) -> RemedyOut:
    return RemedyOut(
        action=item["action"], options=item.get("options", {}), advice=remedies.words(item, door)
    )


class Sample(BaseModel):
    row: int = Field(
        description="line number in a CSV (the header is line 1), sheet row in Excel, row in Parquet"
    )
    value: str | None = Field(
        description="the value as read; null when empty, and for others than the task's "
        "uploader and admins (raw values never loaded)"
    )
    message: str | None = Field(
        default=None,
        # Left out when empty: a sample reads {"row", "value"} as before.
        exclude_if=lambda message: message is None,
        description="what this row shows beyond the check's message, as a sentence (a derived "
        "column: the value expected and the one in the file); none (left out in REST, null in "
        "GraphQL) when the check's message says it all, and for those who may not see the value",
    )


class CheckOut(BaseModel):
    column: str | None
    check: str = Field(description="the check's name, for scripts; `message` says it in words")
    message: str = Field(description="the check as a sentence: Quantity must be at least 1")
    failed: int
    samples: list[Sample]
    truncated: bool = Field(description="more rows failed than the samples show")


class WrongType(BaseModel):
    column: str
    expected: str


class SchemaChange(BaseModel):
    column: str
    kind: str = Field(description="add_column (a new column, may be empty) or widen (to float)")
    applied: bool = Field(description="made by this upload (evolve=...), or only offered")
    resolution: str | None = Field(description="what to do to load the file, when not applied")


class SchemaProblemsOut(BaseModel):
    missing: list[str]
    extra: list[str]
    extra_ignored: bool
    wrong_type: list[WrongType]
    changes: list[SchemaChange] = []


class ColumnOut(BaseModel):
    name: str
    type: str
    formats: list[str] = []
    required: bool = False


class ValidationReport(BaseModel):
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    row_label: str
    rows_read: int
    rows_valid: int
    rows_rejected: int
    schema_problems: SchemaProblemsOut
    checks: list[CheckOut]
    columns: list[ColumnOut]
    time_column: str | None = Field(description="what __time is made from")
    outcome: str | None
    preview: PreviewOut | None = Field(
        default=None,
        description="a dry run's preview (nothing loaded): the schema that would be used, the "
        "first rows, the time column; null for other tasks",
    )

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> ValidationReport | None:
        if not data:
            return None
        try:
            return cls.model_validate(data)
        except ValueError:
            return None  # a report written by an older version


class TaskEventOut(BaseModel):
    at: dt.datetime
    status: TaskStatus
    message: str
    detail: dict[str, Any] | None = None

    @classmethod
    def of(cls, event: TaskEvent, viewer: Principal | None = None) -> TaskEventOut:
        """As `viewer` may see it: the worker that wrote it is named to admins only."""
        return cls(
            at=event.at,
            status=TaskStatus(event.status),
            message=visibility.worker_text(event.message, viewer),
            detail=visibility.worker_detail(event.detail, viewer),
        )


class TaskSource(BaseModel):
    """The action whose run fetched a task's file (an import)."""

    id: str
    run_id: str | None

    @classmethod
    def of(cls, task: IngestionTask) -> TaskSource | None:
        if task.source_action_id is None:
            return None
        return cls(id=task.source_action_id, run_id=task.source_run_id)


class TaskStatusOut(BaseModel):
    task_id: str
    status: TaskStatus = Field(
        description="queued, validating, loading, then with Druid configured druid_submitting, "
        "druid_indexing, druid_loading (or waiting_for_druid during an outage); finally "
        "succeeded, failed or cancelled"
    )
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
    report: ValidationReport | None
    rejected_rows_url: str | None = Field(
        description="CSV of the rejected rows with _row and _reason"
    )
    options: dict[str, Any]
    dry_run: bool = Field(
        default=False, description="a preview: read and checked in full, nothing loaded"
    )
    overrides: PreviewOverridesOut | None = Field(
        default=None, description="the changes confirmed from a preview; null: none"
    )
    druid_spec: dict[str, Any] | None = Field(
        description="the Druid ingestion spec for the dataset (URL signatures redacted); for "
        "admins only (it names where the data is stored: a server path, or a bucket and its "
        "endpoint), null for other roles"
    )
    druid_task_id: str | None
    druid_datasource: str | None
    druid_report: dict[str, Any] | None = Field(
        description="Druid's account: task status, rows processed, unparseable and thrown away, "
        "parse exceptions, load percent, outages waited out"
    )
    data_as_of: dt.datetime | None = Field(
        description="when the task's data became queryable on the serving engine"
    )
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    trace_id: str | None = Field(
        description="the OpenTelemetry trace of the upload and its processing (32 hex digits); "
        "null when traces were off (OTEL_EXPORTER_OTLP_ENDPOINT unset)"
    )
    events: list[TaskEventOut]
    action: TaskSource | None = Field(
        default=None, description="the action and run that fetched the file; null for an upload"
    )

    @classmethod
    def of(
        cls,
        task: IngestionTask,
        rejected_rows_url: str | None = None,
        principal: Principal | None = None,
        door: Door = Door.REST,
    ) -> TaskStatusOut:
        return cls(
            task_id=task.id,
            status=TaskStatus(task.status),
            datasource=task.datasource,
            filename=task.filename,
            file_format=task.file_format,
            size_bytes=task.size_bytes,
            sha256=task.sha256,
            progress=task.progress,
            rows_read=task.rows_read,
            rows_valid=task.rows_valid,
            rows_rejected=task.rows_rejected,
            error=TaskError.of(task.error, door) if task.error else None,
            report=report_for(task, principal),
            rejected_rows_url=rejected_rows_url if shows_rejected(task, principal) else None,
            options=task.options,
            dry_run=bool(task.dry_run),
            overrides=overrides_of(task),
            druid_spec=spec_for(task, principal),
            druid_task_id=task.druid_task_id,
            druid_datasource=task.druid_datasource,
            druid_report=task.druid_report,
            data_as_of=task.data_as_of,
            attempts=task.attempts,
            created_at=task.created_at,
            updated_at=task.updated_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
            trace_id=tracing.trace_id(task.trace_context),
            events=[TaskEventOut.of(e, principal) for e in task.events],
            action=TaskSource.of(task),
        )


class UploadAccepted(BaseModel):
    task_id: str
    status: TaskStatus
    status_url: str
    duplicate: bool = Field(
        description="true when these bytes were already uploaded to the datasource"
    )
    message: str = Field(description="what happened, and for a duplicate what to do instead")
    remedies: list[RemedyOut] = Field(
        default_factory=list,
        description="for a duplicate: loading the same file again anyway (force)",
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


class SchemaVersionChangeOut(BaseModel):
    column: str
    kind: str = Field(description="add_column or widen")
    type: str = Field(description="the column's type after the change")


class SchemaVersionOut(BaseModel):
    version: int
    at: str = Field(description="ISO-8601 UTC")
    by: str = Field(description="who changed it: a token's name, or 'upload <task>'")
    changes: list[SchemaVersionChangeOut]


class DatasourceOut(BaseModel):
    name: str
    row_count: int
    columns: dict[str, str] = Field(
        description="the columns its data has, then those its contract declares that no file "
        "has brought yet (queryable once data has them)"
    )
    time_start: dt.datetime | None
    time_end: dt.datetime | None = Field(description="the latest __time in the data")
    last_ingestion: dt.datetime | None
    contract: str = Field(
        description="sales (every check of the sales schema), declared or inferred"
    )
    schema_version: int = Field(
        default=1, description="1 when created; one more with each change to its schema"
    )
    schema_versions: list[SchemaVersionOut] = Field(
        default_factory=list, description="each change to the schema after version 1"
    )
    created_at: dt.datetime | None = Field(
        default=None, description="when its first upload (or its creation ahead of one) recorded it"
    )
    storage_prefix: str = Field(
        default="", description="where its datasets are kept, as a key in the service's storage"
    )
    druid_datasource: str | None = Field(
        default=None, description="its name in Druid; null without Druid configured"
    )
    grants: list[str] = Field(
        default_factory=list,
        description="who else may write to it: principals' names, or role:<role>",
    )
    owner: str | None = Field(
        default=None,
        description="who created it and may write to it (with the principal's id for admins); "
        "null: admins only",
    )

    @classmethod
    def of(
        cls,
        info: DatasourceInfo,
        records: dict[str, datasources.Record],
        settings: Settings,
        viewer: Principal | None,
    ) -> DatasourceOut:
        """A datasource as the engine serves it and as its record describes it, for `viewer`."""
        record = records.get(info.name, datasources.Record())
        return cls(
            owner=access.owner_shown(record.ownership, viewer),
            grants=list(record.ownership.grants),
            name=info.name,
            created_at=record.created_at,
            storage_prefix=datasources.storage_prefix(info.name),
            druid_datasource=druid_datasource(settings, info.name) if settings.druid_url else None,
            contract=record.contract,
            schema_version=record.version,
            schema_versions=[SchemaVersionOut.model_validate(v) for v in record.versions],
            row_count=info.rows,
            columns=datasources.listed_columns(record, info.columns),
            time_start=info.time_start,
            time_end=info.time_end,
            last_ingestion=info.last_ingestion,
        )


class DropOut(BaseModel):
    name: str
    tasks_removed: int
    objects_removed: int
    druid_segments_dropped: int | None = Field(
        description="segments Druid marked unused; null without Druid or when it did not answer"
    )
    druid_error: str | None


def spec_for(task: IngestionTask, principal: Principal | None) -> dict[str, Any] | None:
    """A task's Druid spec as `principal` may see it: it names where the data is stored (a
    server path for the local folder, a bucket and its endpoint for S3), so admins only."""
    return task.druid_spec if principal is not None and principal.allows(Role.ADMIN) else None


def shows_rejected(task: IngestionTask, principal: Principal | None) -> bool:
    """The task has rejected rows and `principal` may read them (its uploader, admins)."""
    return bool(task.rows_rejected) and (
        principal is not None and access.may_read_rejected(task.created_by, principal)
    )


def report_for(task: IngestionTask, principal: Principal | None) -> ValidationReport | None:
    """A task's report as `principal` may see it: the sample values of failed checks are raw
    values never loaded, shown to the task's uploader and admins only (null for others)."""
    report = ValidationReport.parse(task.report)
    if report is None or (
        principal is not None and access.may_read_rejected(task.created_by, principal)
    ):
        return report
    preview = None  # the values of rows never loaded, as for the failed checks' samples
    checks = [
        check.model_copy(
            update={
                "samples": [
                    s.model_copy(update={"value": None, "message": None}) for s in check.samples
                ]
            }
        )
        for check in report.checks
    ]
    return report.model_copy(update={"checks": checks, "preview": preview})


def overrides_of(task: IngestionTask) -> PreviewOverridesOut | None:
    found = (task.options or {}).get("overrides")
    return PreviewOverridesOut.model_validate(found) if found else None

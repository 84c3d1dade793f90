"""GraphQL: uploads and ingestion tasks (thin: calls backend.ingestion.service)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import cast

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from backend import filenames
from backend.contracts.sales import SALES
from backend.db import session_scope
from backend.errors import InvalidInput
from backend.ingestion import access
from backend.ingestion import service as ingestion_service
from backend.ingestion.schemas import TaskEventOut, report_for, shows_rejected, spec_for
from backend.monitoring import tracing
from backend.pipeline.normalize import LoadMode, OnInvalid
from backend.schema.context import Info
from backend.schema.permissions import IsUploader, IsViewer
from backend.schema.scalars import Long
from backend.schema.validation import ValidationReport
from backend.tasks.models import IngestionTask, TaskStatus

READ_CHUNK_BYTES = 1024 * 1024


@strawberry.type
class TaskError:
    code: str
    message: str
    detail: str | None


@strawberry.type
class TaskEvent:
    at: dt.datetime
    status: str
    message: str
    detail: JSON | None


@strawberry.type
class IngestionTaskStatus:
    task_id: strawberry.ID
    status: str
    datasource: str
    filename: str
    file_format: str
    size_bytes: Long
    sha256: str
    progress: float
    rows_read: Long | None
    rows_valid: Long | None
    rows_rejected: Long | None
    error: TaskError | None
    report: ValidationReport | None
    rejected_rows_url: str | None
    options: JSON
    druid_spec: JSON | None = strawberry.field(
        description="the Druid ingestion spec for the dataset (URL signatures redacted); for "
        "admins only (it names where the data is stored), null for other roles"
    )
    druid_task_id: str | None
    druid_datasource: str | None
    druid_report: JSON | None = strawberry.field(
        description="Druid's account: task status, rows processed, unparseable and thrown away, "
        "parse exceptions, load percent, outages waited out"
    )
    data_as_of: dt.datetime | None = strawberry.field(
        description="when the task's data became queryable on the serving engine"
    )
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    trace_id: str | None = strawberry.field(
        description="the OpenTelemetry trace of the upload and its processing (32 hex digits); "
        "null when traces were off (OTEL_EXPORTER_OTLP_ENDPOINT unset)"
    )
    events: list[TaskEvent]

    @classmethod
    def of(cls, task: IngestionTask, info: Info) -> IngestionTaskStatus:
        viewer = info.context.principal
        report = report_for(task, viewer)
        request = info.context.http_request
        return cls(
            task_id=strawberry.ID(task.id),
            status=task.status,
            datasource=task.datasource,
            filename=task.filename,
            file_format=task.file_format,
            size_bytes=Long(task.size_bytes),
            sha256=task.sha256,
            progress=task.progress,
            rows_read=_long(task.rows_read),
            rows_valid=_long(task.rows_valid),
            rows_rejected=_long(task.rows_rejected),
            error=TaskError(**task.error) if task.error else None,
            report=ValidationReport.of(report) if report else None,
            rejected_rows_url=str(request.url_for("ingest_rejected", task_id=task.id))
            if shows_rejected(task, viewer)
            else None,
            options=cast(JSON, task.options),
            druid_spec=cast(JSON, spec_for(task, info.context.principal)),
            druid_task_id=task.druid_task_id,
            druid_datasource=task.druid_datasource,
            druid_report=cast(JSON, task.druid_report),
            data_as_of=task.data_as_of,
            attempts=task.attempts,
            created_at=task.created_at,
            updated_at=task.updated_at,
            started_at=task.started_at,
            finished_at=task.finished_at,
            trace_id=tracing.trace_id(task.trace_context),
            events=[
                TaskEvent(at=e.at, status=e.status, message=e.message, detail=cast(JSON, e.detail))
                for e in (TaskEventOut.of(event, viewer) for event in task.events)
            ],
        )


@strawberry.type
class UploadResult:
    task_id: strawberry.ID
    status: str
    status_url: str
    duplicate: bool = strawberry.field(description="True when these bytes were already uploaded")
    message: str = strawberry.field(
        description="What happened, and for a duplicate what to do instead"
    )
    task: IngestionTaskStatus


strawberry.enum(TaskStatus, name="TaskStatus")
strawberry.enum(OnInvalid, name="OnInvalid", description="What to do with invalid rows")
strawberry.enum(
    LoadMode,
    name="LoadMode",
    description="APPEND adds the rows; REPLACE replaces the datasource's rows in the time "
    "interval the upload covers",
)


def _long(value: int | None) -> Long | None:
    return None if value is None else Long(value)


@strawberry.type
class IngestionQuery:
    @strawberry.field(
        permission_classes=[IsViewer], description="One ingestion task with its history"
    )
    async def ingestion_task(self, info: Info, task_id: strawberry.ID) -> IngestionTaskStatus:
        async with session_scope(info.context.runtime.reading()) as session:
            task = await ingestion_service.get_task(session, str(task_id))
        return IngestionTaskStatus.of(task, info)

    @strawberry.field(permission_classes=[IsViewer], description="Ingestion tasks, newest first")
    async def ingestion_tasks(
        self,
        info: Info,
        datasource: str | None = None,
        status: TaskStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[IngestionTaskStatus]:
        async with session_scope(info.context.runtime.reading()) as session:
            page = await ingestion_service.list_tasks(
                session, datasource=datasource, status=status, limit=limit, offset=offset
            )
        return [IngestionTaskStatus.of(t, info) for t in page.items]


def _filename(upload: Upload) -> str | None:
    """The name as the user gave it (Starlette leaves a quote written %22 as it came)."""
    name = getattr(upload, "filename", None)
    return None if name is None else filenames.plain_filename(name)


async def _chunks(upload: Upload) -> AsyncIterator[bytes]:
    file = cast(UploadFile, upload)  # what the FastAPI integration passes
    while chunk := await file.read(READ_CHUNK_BYTES):
        yield chunk


@strawberry.type
class IngestionMutation:
    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Upload a CSV, Excel or Parquet file of sales (GraphQL multipart request). "
        "Its rows must pass the sales contract whatever the datasource is named; a datasource "
        "with another contract is refused (REST uploads use the datasource's own contract)",
    )
    async def upload_sales_data(
        self,
        info: Info,
        file: Upload,
        data_source_name: str,
        force: bool = False,
        on_invalid: OnInvalid = OnInvalid.REJECT,
        max_invalid_ratio: float | None = None,
        sheet: str | None = None,
        time_column: str | None = None,
        mode: LoadMode = LoadMode.APPEND,
    ) -> UploadResult:
        context = info.context
        if not isinstance(file, UploadFile):  # e.g. a string sent as the variable's value
            raise InvalidInput(
                "the file variable holds no uploaded file",
                "Send a GraphQL multipart request with the file's part mapped to variables.file "
                '(curl -F operations=... -F map=\'{"0": ["variables.file"]}\' -F 0=@data.csv).',
            )
        name = ingestion_service.validate_datasource_name(data_source_name)
        await access.refuse_early(context.runtime.reading(), name, context.principal)
        options = ingestion_service.upload_options(
            on_invalid=on_invalid.value,
            max_invalid_ratio=max_invalid_ratio,
            sheet=sheet,
            time_column=time_column,
            mode=mode.value,
        )
        options = dataclasses.replace(options, contract=SALES)  # whatever the datasource's name
        async with context.runtime.limits.upload(context.principal.id):
            staged = await ingestion_service.stage_upload(
                context.runtime.store,
                _chunks(file),
                _filename(file),
                context.runtime.settings.max_upload_bytes,
                context.runtime.space,
            )
        accepted = await ingestion_service.accept(
            context.session,
            staged,
            data_source_name,
            force=force,
            options=options,
            actor=context.principal,
            metrics=context.runtime.metrics.registry,
        )
        task = accepted.task
        request = context.http_request
        return UploadResult(
            task_id=strawberry.ID(task.id),
            status=task.status,
            status_url=str(request.url_for("ingest_status", task_id=task.id)),
            duplicate=not accepted.created,
            message=accepted.message,
            task=IngestionTaskStatus.of(task, info),
        )

    @strawberry.mutation(
        permission_classes=[IsUploader], description="Queue a failed or cancelled task again"
    )
    async def retry_ingestion_task(self, info: Info, task_id: strawberry.ID) -> IngestionTaskStatus:
        return IngestionTaskStatus.of(
            await ingestion_service.retry(
                info.context.session, str(task_id), info.context.principal
            ),
            info,
        )

    @strawberry.mutation(
        permission_classes=[IsUploader], description="Cancel a queued or running task"
    )
    async def cancel_ingestion_task(
        self, info: Info, task_id: strawberry.ID
    ) -> IngestionTaskStatus:
        return IngestionTaskStatus.of(
            await ingestion_service.cancel(
                info.context.session,
                str(task_id),
                info.context.principal,
                info.context.runtime.metrics.registry,
            ),
            info,
        )

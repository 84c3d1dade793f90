"""GraphQL: uploads and ingestion tasks (thin: calls backend.ingestion.intake and
backend.ingestion.service)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar, cast

import strawberry
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from strawberry.experimental import pydantic
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from backend import filenames
from backend.contracts.evolution import Evolve
from backend.contracts.sales import SALES
from backend.db import session_scope
from backend.errors import InvalidInput
from backend.ingestion import intake, preview, preview_out, reload, schemas
from backend.ingestion import service as ingestion_service
from backend.pipeline.normalize import LoadMode, OnInvalid
from backend.pipeline.remedies import Door
from backend.schema.context import Info
from backend.schema.permissions import IsUploader, IsViewer
from backend.schema.scalars import Long
from backend.schema.validation import ValidationReport
from backend.tasks.models import IngestionTask, TaskStatus

READ_CHUNK_BYTES = 1024 * 1024
Checked = TypeVar("Checked", bound=BaseModel)


strawberry.enum(TaskStatus, name="TaskStatus")


@pydantic.type(model=schemas.RemedyOut, all_fields=True)
class Remedy:
    options: JSON


@pydantic.type(model=schemas.TaskError, all_fields=True)
class TaskError:
    pass


@pydantic.type(model=schemas.TaskEventOut, all_fields=True)
class TaskEvent:
    detail: JSON | None


@pydantic.type(
    model=schemas.TaskSource, all_fields=True, description="The action whose run fetched a file"
)
class TaskSource:
    id: strawberry.ID


@pydantic.type(model=schemas.TaskStatusOut, all_fields=True)
class IngestionTaskStatus:
    task_id: strawberry.ID
    size_bytes: Long
    rows_read: Long | None
    rows_valid: Long | None
    rows_rejected: Long | None
    options: JSON
    druid_spec: JSON | None
    druid_report: JSON | None
    report: ValidationReport | None


@pydantic.type(model=schemas.UploadAccepted)
class UploadResult:
    task_id: strawberry.ID
    status: strawberry.auto
    status_url: strawberry.auto
    duplicate: strawberry.auto
    message: strawberry.auto
    remedies: list[Remedy]
    task: IngestionTaskStatus


# Strawberry's Pydantic types keep only their fields: what builds them is a function.
def task_status(task: IngestionTask, info: Info) -> IngestionTaskStatus:
    """The task as the caller may see it (REST's view of it, typed for GraphQL)."""
    url = str(info.context.http_request.url_for("ingest_rejected", task_id=task.id))
    return IngestionTaskStatus.from_pydantic(
        schemas.TaskStatusOut.of(task, url, info.context.principal, Door.GRAPHQL)
    )


def upload_result(answer: schemas.UploadAccepted, task: IngestionTaskStatus) -> UploadResult:
    """The upload's answer as REST gives it (the fields UploadResult lists), with the task."""
    listed = {field.name for field in dataclasses.fields(cast(Any, UploadResult))}
    listed -= {"task", "remedies"}
    remedies = [Remedy.from_pydantic(r) for r in answer.remedies]
    return UploadResult(task=task, remedies=remedies, **answer.model_dump(include=listed))


@strawberry.input(
    description="Changes to a preview's columns, named as the file's header names them (its "
    "sourceName)"
)
class PreviewOverridesInput:
    types: JSON | None = strawberry.field(
        default=None,
        description="column -> string, integer, float, boolean, date, time or datetime",
    )
    date_order: str | None = strawberry.field(
        default=None, description="month_first or day_first (1/5/2019 is May 1)"
    )
    time_column: str | None = strawberry.field(
        default=None, description="the column __time is made from (its new name)"
    )
    rename: JSON | None = strawberry.field(default=None, description="column -> its new name")
    drop: list[str] | None = strawberry.field(default=None, description="columns left out")


@strawberry.input(
    description="How to load a preview's file: overrides, another datasource, or another preview"
)
class PreviewConfirmInput:
    overrides: PreviewOverridesInput | None = None
    datasource_name: str | None = strawberry.field(
        default=None, description="another datasource to load it into"
    )
    dry_run: bool = strawberry.field(default=False, description="preview again with the overrides")
    force: bool = strawberry.field(
        default=False, description="load it even when these bytes are loaded"
    )
    on_invalid: str | None = strawberry.field(
        default=None, description="reject or skip (unset: as the preview)"
    )

    def to_model(self) -> preview_out.PreviewConfirm:
        """The same request as REST's body (checked by the same model: 422 in words)."""
        given = self.overrides
        overrides = None
        if given is not None:
            fields = {k: v for k, v in vars(given).items() if v is not None}
            overrides = _checked(preview_out.OverridesIn, fields)
        asked = {
            "datasource_name": self.datasource_name,
            "overrides": overrides,
            "dry_run": self.dry_run,
            "force": self.force,
            "on_invalid": self.on_invalid,
        }
        return _checked(preview_out.PreviewConfirm, asked)


def _checked(model: type[Checked], fields: dict[str, Any]) -> Checked:
    try:
        return model.model_validate(fields)
    except ValueError as exc:
        raise InvalidInput(
            "the preview's confirmation is not in the expected shape",
            "Send overrides.types and overrides.rename as objects of column names to text, "
            "overrides.drop as a list of at most 1000 column names, and datasourceName of at "
            "most 64 characters.",
        ) from exc


strawberry.enum(OnInvalid, name="OnInvalid", description="What to do with invalid rows")
strawberry.enum(
    Evolve,
    name="Evolve",
    description="ADD_COLUMNS adds the file's new columns; WIDEN makes integer columns with "
    "decimals float",
)
strawberry.enum(
    LoadMode,
    name="LoadMode",
    description="APPEND adds the rows; REPLACE replaces the datasource's rows in the time "
    "interval the upload covers",
)


@strawberry.type
class IngestionQuery:
    @strawberry.field(
        permission_classes=[IsViewer], description="One ingestion task with its history"
    )
    async def ingestion_task(self, info: Info, task_id: strawberry.ID) -> IngestionTaskStatus:
        async with session_scope(info.context.runtime.reading()) as session:
            task = await ingestion_service.get_task(session, str(task_id))
        return task_status(task, info)

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
        return [task_status(t, info) for t in page.items]


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
        datasource: Annotated[str, strawberry.argument(name="dataSourceName")],
        force: bool = False,
        on_invalid: OnInvalid = OnInvalid.REJECT,
        max_invalid_ratio: float | None = None,
        sheet: str | None = None,
        time_column: str | None = None,
        mode: LoadMode = LoadMode.APPEND,
        dry_run: Annotated[
            bool,
            strawberry.argument(
                description="A preview: read and checked in full, nothing loaded; the task's "
                "report.preview shows it; confirmPreview loads it"
            ),
        ] = False,
    ) -> UploadResult:
        context = info.context
        if not isinstance(file, UploadFile):  # e.g. a string sent as the variable's value
            raise InvalidInput(
                "the file variable holds no uploaded file",
                "Send a GraphQL multipart request with the file's part mapped to variables.file "
                '(curl -F operations=... -F map=\'{"0": ["variables.file"]}\' -F 0=@data.csv).',
            )
        name = await intake.refuse_early(context.runtime.reading(), datasource, context.principal)
        options = ingestion_service.upload_options(
            on_invalid=on_invalid.value,
            max_invalid_ratio=max_invalid_ratio,
            sheet=sheet,
            time_column=time_column,
            mode=mode.value,
        )
        options = dataclasses.replace(options, contract=SALES)  # whatever the datasource's name
        accepted = await context.runtime.intake().upload(
            context.session,
            _chunks(file),
            _filename(file),
            name,
            force=force,
            options=options,
            actor=context.principal,
            dry_run=dry_run,
        )
        url = str(context.http_request.url_for("ingest_status", task_id=accepted.task.id))
        answer = intake.answer(accepted, url, Door.GRAPHQL)
        return upload_result(answer, task_status(accepted.task, info))

    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Load a preview's stored file as a new task (or preview it again with "
        "dryRun) with the changes chosen; the file is not sent again. The preview's uploader or "
        "an admin may",
    )
    async def confirm_preview(
        self, info: Info, task_id: strawberry.ID, input: PreviewConfirmInput
    ) -> UploadResult:
        context = info.context
        accepted = await preview.confirm(
            context.session,
            context.runtime.intake(),
            str(task_id)[:64],
            context.principal,
            input.to_model(),
        )
        url = str(context.http_request.url_for("ingest_status", task_id=accepted.task.id))
        answer = intake.answer(accepted, url, Door.GRAPHQL)
        return upload_result(answer, task_status(accepted.task, info))

    @strawberry.mutation(
        permission_classes=[IsUploader],
        description="Load a task's stored file again as a new task, with other options (unset: "
        "as the first task did); the uploader or an admin may",
    )
    async def reload_ingestion_task(
        self,
        info: Info,
        task_id: strawberry.ID,
        force: bool = False,
        on_invalid: OnInvalid | None = None,
        evolve: list[Evolve] | None = None,
    ) -> UploadResult:
        context = info.context
        if evolve is not None and len(evolve) > 2:
            raise InvalidInput("evolve lists each change once", "Send ADD_COLUMNS, WIDEN or both.")
        changes = reload.Changes(
            force=force,
            on_invalid=on_invalid,
            evolve=None if evolve is None else tuple(dict.fromkeys(evolve)),
        )
        accepted = await reload.reload(
            context.session, context.runtime.intake(), str(task_id)[:64], context.principal, changes
        )
        url = str(context.http_request.url_for("ingest_status", task_id=accepted.task.id))
        answer = intake.answer(accepted, url, Door.GRAPHQL)
        return upload_result(answer, task_status(accepted.task, info))

    @strawberry.mutation(
        permission_classes=[IsUploader], description="Queue a failed or cancelled task again"
    )
    async def retry_ingestion_task(self, info: Info, task_id: strawberry.ID) -> IngestionTaskStatus:
        return task_status(
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
        return task_status(
            await ingestion_service.cancel(
                info.context.session,
                str(task_id),
                info.context.principal,
                info.context.runtime.metrics.registry,
            ),
            info,
        )

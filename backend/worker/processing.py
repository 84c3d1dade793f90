"""One task's processing, between claim and result: fetch the stored upload, validate and normalize
it (in a thread), and store the rejected rows. Knows storage and files, not task states."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend import druid_load as druid_phase
from backend import threads
from backend.config import Settings
from backend.contracts.schema import DatasetSchema
from backend.db import SessionMaker, session_scope
from backend.druid.spec import (
    InputFormat,
    LocalLocation,
    Location,
    Mode,
    S3Location,
    SpecInput,
    build_spec,
    interval,
)
from backend.monitoring import tracing
from backend.pipeline import normalize, preview
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import DEFAULT_LIMITS, InputLimits, ReadError
from backend.priority import run_heavy
from backend.storage import ObjectStore
from backend.storage.s3 import S3ObjectStore
from backend.tasks import repository
from backend.tasks.models import IngestionTask
from backend.worker import duplicates


def dataset_key(datasource: str, task_id: str, run: str | None = None) -> str:
    """Where a task's dataset is stored. A task processed again (retried, or taken over) while
    an earlier run of it may still be winding down writes under a key of its own (`run`): the
    earlier run removes its own output when it finds it lost the task."""
    suffix = f"-{run}" if run else ""
    return f"datasets/{datasource}/{task_id}{suffix}.parquet"


def rejected_key(task_id: str) -> str:
    # A leading "_" never comes from an upload's name (filenames.storage_name strips it).
    return f"raw/{task_id}/_rejected.csv"


@dataclass(frozen=True)
class BuiltSpec:
    spec: dict[str, Any]  # as stored on the task: URL signatures redacted
    replace_interval: str | None  # mode=replace: the interval whose earlier rows are replaced


def druid_spec(
    settings: Settings,
    store: ObjectStore,
    task: IngestionTask,
    outcome: normalize.Outcome,
    key: str | None = None,
) -> BuiltSpec | None:
    """The Druid ingestion spec for the stored dataset (kept on every task, Druid or not).

    With DRUID_URL set it is the spec that will be submitted (input per DRUID_INPUT_SOURCE and
    DRUID_INPUT_FORMAT; URLs are signed at submission); without, a Parquet spec reading the
    dataset where it is stored, for a cluster with the S3 and Parquet extensions.
    """
    if outcome.schema is None or outcome.time_range is None:
        return None
    key = key or dataset_key(task.datasource, task.id)
    location: Location
    kind = InputFormat.PARQUET
    datasource = task.datasource
    if settings.druid_url:
        kind = InputFormat(settings.druid_input_format)
        datasource = druid_phase.druid_datasource(settings, task.datasource)
        source = (
            key
            if kind is InputFormat.PARQUET
            else druid_phase.copy_key(task.datasource, task.id, kind)
        )
        location = druid_phase.unsigned_location(settings, store, source)
    elif isinstance(store, S3ObjectStore):
        location = S3Location(store.bucket, store.object_key(key), store.endpoint_url, store.region)
    else:
        local = store.local_path(key)
        assert local is not None
        location = LocalLocation(str(local.resolve()))
    mode = Mode(task.options.get("mode", Mode.APPEND.value))
    spec = SpecInput(
        datasource=datasource,
        columns=tuple((c.name, c.type.value) for c in outcome.schema.columns),
        time_min=outcome.time_range[0],
        time_max=outcome.time_range[1],
        location=location,
        mode=mode,
        max_concurrent_subtasks=settings.druid_max_concurrent_subtasks,
        input_format=kind,
        ingest_task=task.id,
    )
    return BuiltSpec(build_spec(spec), interval(spec) if mode is Mode.REPLACE else None)


def check_sha256(path: Path, declared: str) -> None:
    """The file's bytes are those whose sha256 the uploader declared (an upload session on S3
    records it unread: the worker is the first to read the file)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    if digest.hexdigest() != declared:
        raise ReadError(
            "the file's bytes do not match the sha256 declared when it was uploaded",
            "Upload the file again; its parts were changed or mixed up on the way.",
        )


async def verify_sha256(source: Path, task: IngestionTask, sessions: SessionMaker | None) -> None:
    """Check the task's declared sha256 (once: a task processed again after it was checked
    skips it), and record it checked: from then on the hash stands for the bytes (duplicate
    checks, copies made by reload or confirm)."""
    if task.options.get("sha256_verified"):
        return
    await threads.FILES.run(check_sha256, source, task.sha256)
    task.options = {**task.options, "sha256_verified": True}
    if sessions is not None:
        async with session_scope(sessions) as session:
            await repository.mark_sha256_verified(session, task.id)


@dataclass
class Processed:
    outcome: normalize.Outcome
    report: dict[str, Any] | None
    counts: dict[str, Any]  # rows_read, rows_valid, rows_rejected


def input_limits(settings: Settings) -> InputLimits:
    return InputLimits(
        column_name_chars=settings.max_column_name_chars,
        header_bytes=settings.max_header_bytes,
        line_bytes=settings.max_line_bytes,
    )


async def process(
    store: ObjectStore,
    task: IngestionTask,
    schema: DatasetSchema | None,
    workdir: Path,
    progress: normalize.Progress,
    loaded: list[Path] | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
    sessions: SessionMaker | None = None,
) -> Processed:
    source = store.local_path(task.storage_key)
    if source is None:
        source = workdir / "source"
        await store.get_file(task.storage_key, source)
    if task.options.get("sha256_declared"):  # an upload session's on S3, or a copy of its file
        await verify_sha256(source, task, sessions)
        # Verified now: the duplicate check its upload could not make (the file is kept).
        found = await duplicates.duplicate_failure(sessions, task) if sessions else None
        if found is not None:
            return Processed(normalize.Outcome(None, failure=found), None, {})
    with tracing.span("read and validate", **{"ingest.format": task.file_format}):
        outcome = await run_heavy(
            normalize.normalize,
            source,
            FileFormat(task.file_format),
            workdir,
            datasource=task.datasource,
            known_schema=schema,
            options=normalize.UploadOptions.from_dict(task.options),
            uploaded_at=task.created_at,
            progress=progress,
            loaded=loaded or [],
            limits=limits,
        )
    report = outcome.report.as_dict() if outcome.report else None
    if task.dry_run and report is not None and outcome.dataset and outcome.schema is not None:
        with tracing.span("build preview"):
            overrides = normalize.UploadOptions.from_dict(task.options).overrides
            report["preview"] = await run_heavy(
                preview.build_preview, outcome.dataset, outcome.schema, overrides
            )
    if outcome.rejected is not None and report is not None:
        key = rejected_key(task.id)
        await store.put_file(key, outcome.rejected)
        report["rejected_rows_key"] = key
    counts: dict[str, Any] = {}
    if outcome.report is not None:
        counts = {
            "rows_read": outcome.report.rows_read,
            "rows_valid": outcome.report.rows_valid,
            "rows_rejected": outcome.report.rows_rejected,
        }
    return Processed(outcome, report, counts)

"""The end of a task's validation: its dataset is stored and recorded (with the datasource's
schema, when this upload fixes or evolves it), and what earlier runs left is removed."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend import druid_load as druid_phase
from backend.config import Settings
from backend.contracts.evolution import version_of
from backend.contracts.schema import DatasetSchema
from backend.contracts.stored import DatasourceSchema, evolve_stored
from backend.db import utcnow
from backend.events import outbox
from backend.events.models import EventKind
from backend.storage import ObjectStore
from backend.tasks.lifecycle import LeaseLost
from backend.tasks.models import IngestionTask, TaskStatus
from backend.units import format_count
from backend.worker import processing
from backend.worker.leases import Holder

log = logging.getLogger(__name__)
# A dry run's report outcome (others: loaded, failed): read and checked in full, nothing loaded.
PREVIEWED = "previewed"


async def _remember_schema(
    session: AsyncSession, task: IngestionTask, new_schema: DatasetSchema | None
) -> None:
    if new_schema is None:
        return
    stored = await session.get(DatasourceSchema, task.datasource, with_for_update=True)
    if stored is None:
        definition = new_schema.as_dict()
        session.add(
            DatasourceSchema(
                datasource=task.datasource,
                definition=definition,
                source_task_id=task.id,
                created_at=utcnow(),
            )
        )
        _schema_changed(session, task, version_of(definition), [])
    elif new_schema.changes:
        # Applied to the stored definition (locked): uploads evolving it at once agree.
        before = version_of(stored.definition)
        evolve_stored(stored, new_schema, f"upload {task.id}")
        if version_of(stored.definition) != before:
            changes = [change.as_dict() for change in new_schema.changes]
            _schema_changed(session, task, version_of(stored.definition), changes)


def _schema_changed(
    session: AsyncSession, task: IngestionTask, version: int, changes: list[dict[str, Any]]
) -> None:
    """The event of a datasource's schema fixed (its first upload) or evolved by an upload, in
    the transaction that records it."""
    outbox.emit(
        session,
        EventKind.SCHEMA_CHANGED,
        subject=task.datasource,
        datasource=task.datasource,
        payload={
            "datasource": task.datasource,
            "version": version,
            "changes": changes,
            "created": not changes,
            "task_id": task.id,
        },
    )


def _columns(
    settings: Settings, task: IngestionTask, status: TaskStatus, key: str
) -> dict[str, Any]:
    values: dict[str, Any] = {"dataset_key": key}
    if status is TaskStatus.SUCCEEDED:
        now = utcnow()
        values.update(
            progress=1.0,
            finished_at=now,
            data_as_of=now,
            lease_owner=None,
            lease_expires_at=None,
        )
    else:
        values.update(
            progress=0.8,
            druid_datasource=druid_phase.druid_datasource(settings, task.datasource),
        )
    return values


async def record_stored(
    holder: Holder,
    settings: Settings,
    store: ObjectStore,
    task: IngestionTask,
    status: TaskStatus,
    counts: dict[str, Any],
    new_schema: DatasetSchema | None,
    key: str,
) -> None:
    """The dataset is stored under `key`: the embedded engine serves it from now on (the caller
    says so to the caches at once, before it awaits again)."""

    async def remember_schema(session: AsyncSession) -> None:
        await _remember_schema(session, task, new_schema)

    message = f"{format_count(counts['rows_valid'], 'row')} stored as {key}"
    if status is not TaskStatus.SUCCEEDED:
        message += "; loading them into Druid"
    if key != processing.dataset_key(task.datasource, task.id):
        await _remove_earlier_runs(store, task, key)
    values = _columns(settings, task, status, key)
    try:
        await holder.move(task.id, status, message, also=remember_schema, **values)
    except LeaseLost:
        # Cancelled while loading: the data must not stay behind.
        await store.delete(key)
        raise


async def _remove_earlier_runs(store: ObjectStore, task: IngestionTask, key: str) -> None:
    """Datasets an earlier run of this task wrote and never recorded (a worker that died
    between storing and success). An earlier run still alive removes its own output when
    it finds it lost the task, so whatever it writes after this goes too."""
    first = processing.dataset_key(task.datasource, task.id)
    folder, _, name = first.rpartition("/")
    run_prefix = name.removesuffix(".parquet") + "-"
    try:
        for found in await store.list_prefix(folder):
            other = found.key.rpartition("/")[2]
            if found.key != key and (other == name or other.startswith(run_prefix)):
                await store.delete(found.key)
    except Exception:  # storage unavailable: the leftovers are unreferenced, never served
        log.warning("task %s: an earlier run's dataset could not be removed", task.id)


async def previewed(
    holder: Holder, task_id: str, report: dict[str, Any] | None, counts: dict[str, Any]
) -> None:
    """A dry run's end: read and validated in full, its preview in the report, nothing stored
    (no dataset, no schema, no Druid). Its report's outcome says so: previewed, not loaded."""
    rows = counts.get("rows_valid") or 0
    if report is not None:
        report = {**report, "outcome": PREVIEWED}
    await holder.move(
        task_id,
        TaskStatus.LOADING,
        f"{rows} valid rows of {counts.get('rows_read') or 0}; a preview: nothing is stored",
        progress=0.9,
        report=report,
        **counts,
    )
    now = utcnow()
    await holder.move(
        task_id,
        TaskStatus.SUCCEEDED,
        f"preview ready: {format_count(rows, 'row')} would be loaded; nothing was loaded. "
        "Confirm the preview to load them",
        progress=1.0,
        finished_at=now,
        lease_owner=None,
        lease_expires_at=None,
    )

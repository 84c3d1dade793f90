"""Which datasets a datasource serves, and which of their rows a later replace hides."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from backend.analytics.catalog import load_versions
from backend.db import session_scope
from backend.runtime import Runtime
from backend.tasks.models import IngestionTask, TaskStatus
from tests.conftest import Backend

DAY = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def runtime(backend: Backend) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(backend.settings)
    await runtime.start(with_workers=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


def landed(task_id: str, created: int, finished: int, replaced: str | None) -> IngestionTask:
    return IngestionTask(
        id=task_id,
        datasource="days",
        filename=f"{task_id}.csv",
        file_format="csv",
        size_bytes=1,
        sha256=task_id * 8,
        storage_key=f"raw/{task_id}/x.csv",
        status=TaskStatus.SUCCEEDED.value,
        dataset_key=f"datasets/days/{task_id}.parquet",
        rows_valid=2,
        created_at=DAY + dt.timedelta(minutes=created),
        updated_at=DAY + dt.timedelta(minutes=finished),
        finished_at=DAY + dt.timedelta(minutes=finished),
        replace_interval=replaced,
    )


async def test_a_dataset_landing_after_a_replace_is_not_hidden_by_it(runtime: Runtime) -> None:
    # Found by a hostile test: an upload created before a replace, cancelled, then retried after
    # the replace had landed, succeeded but its rows were never served: datasets were ordered by
    # when their task was created, not by when they landed.
    interval = "2024-01-01T00:00:00.000Z/2024-01-11T00:00:00.000Z"
    async with session_scope(runtime.sessions) as session:
        session.add(landed("base", created=0, finished=1, replaced=None))
        session.add(landed("retried", created=2, finished=9, replaced=None))
        session.add(landed("replace", created=3, finished=4, replaced=interval))
    async with session_scope(runtime.sessions) as session:
        version = (await load_versions(session))["days"]

    order = [key.rsplit("/", 1)[1] for key in version.dataset_keys]
    assert order == ["base.parquet", "replace.parquet", "retried.parquet"]
    assert version.hidden == ((interval,), (), ())  # only the dataset that landed before


async def test_stopping_waits_for_the_rollups_being_prepared(runtime: Runtime) -> None:
    # A CI run hung at the end of a test: rollups being prepared after an upload were left
    # running when the app stopped, and one waited forever on the closed database.
    runtime.analytics.landed("sales")
    preparing = list(runtime.analytics._preparing)
    assert preparing

    await runtime.stop()

    assert all(task.done() for task in preparing)

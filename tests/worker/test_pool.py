"""Workers: leases, take-over after a worker died, cancellation while running, giving up."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import update

from backend.db import session_scope, utcnow
from backend.errors import Conflict
from backend.ingestion import acceptance
from backend.ingestion import service as ingestion_service
from backend.ingestion.intake import Intake
from backend.pipeline import normalize as normalize_module
from backend.runtime import Runtime
from backend.tasks import repository
from backend.tasks.models import ACTIVE_STATUSES, IngestionTask
from backend.tasks.repository import claim_next
from backend.worker.processing import dataset_key
from backend.worker.runner import TaskRunner
from tests.conftest import App, Backend, make_backend
from tests.factories import sales_csv, upload, wait_for_task


@pytest.fixture
async def runtime(backend: Backend) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(backend.settings)
    await runtime.start(with_workers=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def queue_task(
    runtime: Runtime, *, rows: int = 10, seed: int = 1, datasource: str = "sales"
) -> str:
    async with session_scope(runtime.sessions) as session:
        staged = await Intake(runtime.store, 10**8).stage(
            _one_chunk(sales_csv(rows=rows, seed=seed)), "s.csv"
        )
        accepted = await acceptance.accept(session, staged, datasource)
        return accepted.task.id


async def load(runtime: Runtime, task_id: str) -> IngestionTask:
    async with session_scope(runtime.sessions) as session:
        return await ingestion_service.get_task(session, task_id)


async def claim(runtime: Runtime, owner: str, lease: float = 30) -> str | None:
    async with session_scope(runtime.sessions) as session:
        return await claim_next(session, owner, lease)


async def test_concurrent_claims_hand_each_task_to_exactly_one_worker(runtime: Runtime) -> None:
    ids = {await queue_task(runtime, seed=i, datasource=f"source_{i}") for i in range(3)}

    claimed = await asyncio.gather(*(claim(runtime, f"w{i}") for i in range(8)))

    won = [c for c in claimed if c is not None]
    assert sorted(won) == sorted(ids)
    for task_id in ids:
        task = await load(runtime, task_id)
        assert task.status == "validating" and task.attempts == 1


async def test_one_task_per_datasource_is_validated_at_a_time(runtime: Runtime) -> None:
    first, second = [await queue_task(runtime, seed=i) for i in range(2)]
    other = await queue_task(runtime, seed=5, datasource="elsewhere")
    claimed = await asyncio.gather(*(claim(runtime, f"w{i}") for i in range(4)))
    assert sorted(c for c in claimed if c) == sorted([first, other])  # not `second` yet
    holder = f"w{claimed.index(first)}"
    await TaskRunner(runtime.settings, runtime.sessions, runtime.store, holder).run(first)
    assert (await load(runtime, first)).status == "succeeded"
    assert await claim(runtime, "next") == second  # its turn once the first is stored


async def test_a_held_lease_is_respected_and_an_expired_one_is_taken_over(runtime: Runtime) -> None:
    task_id = await queue_task(runtime)
    assert await claim(runtime, "dead-worker", lease=30) == task_id
    assert await claim(runtime, "other") is None

    async with session_scope(runtime.sessions) as session:
        await session.execute(
            update(IngestionTask).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert await claim(runtime, "rescuer") == task_id

    await TaskRunner(runtime.settings, runtime.sessions, runtime.store, "rescuer").run(task_id)
    task = await load(runtime, task_id)
    assert task.status == "succeeded" and task.attempts == 2
    assert any("resumed by rescuer" in e.message for e in task.events)


async def test_cancel_while_loading_stops_the_worker_and_removes_its_output(
    runtime: Runtime,
) -> None:
    runtime.settings.worker_debug_pause_seconds = 2.0  # hold the task between storing and success
    task_id = await queue_task(runtime)
    assert await claim(runtime, "w") == task_id
    runner = TaskRunner(runtime.settings, runtime.sessions, runtime.store, "w")
    running = asyncio.create_task(runner.run(task_id))
    key = dataset_key("sales", task_id)
    while not await runtime.store.exists(key):
        await asyncio.sleep(0.02)

    async with session_scope(runtime.sessions) as session:
        await ingestion_service.cancel(session, task_id)
    await running

    task = await load(runtime, task_id)
    assert task.status == "cancelled"
    assert task.dataset_key is None
    assert not await runtime.store.exists(key)


async def _taken_over(runtime: Runtime, *, attempts: int) -> str:
    """A task whose first worker stopped while loading, taken over by "rescuer"; `attempts`: the
    runs it had before the take-over."""
    task_id = await queue_task(runtime)
    assert await claim(runtime, "dead-worker") == task_id
    async with session_scope(runtime.sessions) as session:
        await session.execute(
            update(IngestionTask).values(
                status="loading",
                attempts=attempts,
                lease_expires_at=utcnow() - dt.timedelta(seconds=1),
            )
        )
    assert await claim(runtime, "rescuer") == task_id
    return task_id


@pytest.mark.parametrize("attempts", [1, 3], ids=["resumed", "given-up"])
async def test_a_cancel_while_a_run_starts_is_not_overwritten(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attempts: int,
) -> None:
    """PostgreSQL: a cancel that arrives between the run's read of its task and the commit of its
    start must not be overwritten (a resumed task went back to `validating` without a lease, and
    no worker claimed it again). The run's read locks the task: the cancel waits for the start,
    then cancels the run (or is refused once the run gave up). SQLite serialises writers."""
    runtime = Runtime.build((await make_backend("postgres_s3", request, tmp_path)).settings)
    await runtime.start(with_workers=False)
    try:
        task_id = await _taken_over(runtime, attempts=attempts)
        cancels: list[asyncio.Task[IngestionTask]] = []

        async def cancel() -> IngestionTask:
            async with session_scope(runtime.sessions) as session:
                return await ingestion_service.cancel(session, task_id)

        real_find = repository.find

        async def find(session: Any, wanted: str, **options: Any) -> IngestionTask | None:
            task = await real_find(session, wanted, **options)
            if not cancels:  # the run's read: a cancel comes in right after it
                cancels.append(asyncio.create_task(cancel()))
                await asyncio.wait(cancels, timeout=1.0)
            return task

        monkeypatch.setattr(repository, "find", find)
        await TaskRunner(runtime.settings, runtime.sessions, runtime.store, "rescuer").run(task_id)
        cancelled = await asyncio.gather(cancels[0], return_exceptions=True)
        task = await load(runtime, task_id)
    finally:
        await runtime.stop()
    moves = [(e.status, e.message) for e in task.events]
    assert task.status not in ACTIVE_STATUSES and task.lease_owner is None, moves
    if attempts == 1:
        assert task.status == "cancelled", moves
    else:  # the run gave up first; the cancel that waited for it is refused, not overwritten
        assert task.status == "failed" and isinstance(cancelled[0], Conflict), (moves, cancelled)


async def test_a_retry_while_the_cancelled_run_still_winds_down_keeps_its_own_dataset(
    runtime: Runtime,
) -> None:
    """Cancelled between storing and success, then retried at once: the cancelled run removes
    its output when it wakes, which must not be the output of the run that replaced it (the
    browser suite saw `datasources` fail on a missing dataset file)."""
    runtime.settings.worker_debug_pause_seconds = 1.0
    task_id = await queue_task(runtime)
    assert await claim(runtime, "first") == task_id
    first = TaskRunner(runtime.settings, runtime.sessions, runtime.store, "first")
    cancelled = asyncio.create_task(first.run(task_id))
    while not await runtime.store.exists(dataset_key("sales", task_id)):
        await asyncio.sleep(0.02)
    async with session_scope(runtime.sessions) as session:
        await ingestion_service.cancel(session, task_id)
    async with session_scope(runtime.sessions) as session:
        await ingestion_service.retry(session, task_id)
    assert await claim(runtime, "second") == task_id
    second = TaskRunner(runtime.settings, runtime.sessions, runtime.store, "second")

    await asyncio.gather(cancelled, second.run(task_id))

    task = await load(runtime, task_id)
    assert task.status == "succeeded" and task.dataset_key is not None
    assert await runtime.store.exists(task.dataset_key)


async def test_a_task_whose_worker_keeps_dying_fails_with_a_reason(runtime: Runtime) -> None:
    task_id = await queue_task(runtime)
    for attempt in range(runtime.settings.worker_max_attempts):
        assert await claim(runtime, f"w{attempt}", lease=0.01) == task_id
        await asyncio.sleep(0.02)  # the worker "dies": its lease runs out
    assert await claim(runtime, "last") == task_id
    await TaskRunner(runtime.settings, runtime.sessions, runtime.store, "last").run(task_id)

    task = await load(runtime, task_id)
    assert task.status == "failed"
    assert task.error is not None and task.error["code"] == "worker_died"
    assert "split" in task.error["detail"]
    assert await claim(runtime, "again") is None


async def test_a_panic_in_the_data_engine_fails_its_task_and_the_workers_carry_on(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Polars' panics derive from BaseException: one ended a worker's loop for good (found by a
    # hostile test), so two such files left every later upload queued forever.
    real = normalize_module.normalize

    def normalize(*args: Any, **kwargs: Any) -> Any:
        if kwargs["datasource"].startswith("boom"):
            raise pl.exceptions.PanicException("assertion failed: i < self.len()")
        return real(*args, **kwargs)

    monkeypatch.setattr(normalize_module, "normalize", normalize)
    booms = [
        (await upload(app.client, content=sales_csv(rows=5, seed=i), datasource=f"boom{i}")).json()
        for i in range(2)  # one per worker slot
    ]
    for accepted in booms:
        failed = await wait_for_task(app.client, accepted["task_id"])
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "internal_error"
        assert "the data engine failed" in failed["error"]["message"]

    accepted = (await upload(app.client, content=sales_csv(rows=5, seed=9))).json()
    assert (await wait_for_task(app.client, accepted["task_id"], timeout=30))[
        "status"
    ] == "succeeded"

"""The task lifecycle's table of moves, and its refusal of a move not in it (nothing written)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backend.db import session_scope
from backend.runtime import Runtime
from backend.tasks import lifecycle, repository
from backend.tasks.lifecycle import CLAIMS, TRANSITIONS, IllegalTransition, LeaseLost
from backend.tasks.models import ACTIVE_STATUSES, TERMINAL_STATUSES, IngestionTask, TaskStatus
from tests.conftest import Backend

S = TaskStatus


@pytest.fixture
async def runtime(backend: Backend) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(backend.settings)
    await runtime.start(with_workers=False)
    try:
        yield runtime
    finally:
        await runtime.stop()


async def _queued(runtime: Runtime, task_id: str = "t1") -> None:
    async with session_scope(runtime.sessions) as session:
        lifecycle.create(
            session,
            "upload received",
            id=task_id,
            datasource="sales",
            filename="s.csv",
            file_format="csv",
            size_bytes=1,
            sha256="0" * 64,
            storage_key=f"raw/{task_id}/s.csv",
            options={},
        )


async def _state(runtime: Runtime, task_id: str = "t1") -> tuple[str, list[str]]:
    async with session_scope(runtime.sessions) as session:
        task = await repository.find(session, task_id)
        assert task is not None
        return task.status, [event.status for event in task.events]


def test_every_status_has_its_row_and_every_status_is_reachable_from_queued() -> None:
    assert set(TRANSITIONS) == set(TaskStatus)
    reached = {S.QUEUED}
    frontier = [S.QUEUED]
    while frontier:
        for after in TRANSITIONS[frontier.pop()]:
            if after not in reached:
                reached.add(after)
                frontier.append(after)
    assert reached == set(TaskStatus)


def test_terminal_statuses_leave_only_by_a_retry() -> None:
    assert TRANSITIONS[S.SUCCEEDED] == frozenset()
    assert TRANSITIONS[S.FAILED] == frozenset({S.QUEUED})
    assert TRANSITIONS[S.CANCELLED] == frozenset({S.QUEUED})
    assert lifecycle.sources(S.QUEUED) & TERMINAL_STATUSES == {S.FAILED, S.CANCELLED}


def test_claims_and_take_overs_are_moves_of_the_table() -> None:
    assert CLAIMS == {S.QUEUED: S.VALIDATING, S.WAITING_FOR_DRUID: S.DRUID_SUBMITTING}
    for active in ACTIVE_STATUSES:
        assert lifecycle.allowed(active, active)
    # a task not yet finished may be cancelled; a finished one may not
    for status in TaskStatus:
        assert lifecycle.allowed(status, S.CANCELLED) == (status not in TERMINAL_STATUSES)


def test_a_move_out_of_the_table_names_the_moves_allowed() -> None:
    with pytest.raises(IllegalTransition, match="from succeeded to queued") as refused:
        lifecycle.check("t1", "succeeded", S.QUEUED)
    assert "may move to: none" in str(refused.value)
    with pytest.raises(IllegalTransition, match="from bogus to queued"):
        lifecycle.check("t1", "bogus", S.QUEUED)
    lifecycle.check("t1", "failed", S.QUEUED)


async def test_a_new_task_is_queued_with_its_first_event(runtime: Runtime) -> None:
    await _queued(runtime)
    assert await _state(runtime) == ("queued", ["queued"])


async def test_a_refused_move_of_a_read_task_writes_nothing(runtime: Runtime) -> None:
    await _queued(runtime)
    with pytest.raises(IllegalTransition, match="from queued to succeeded"):
        async with session_scope(runtime.sessions) as session:
            task = await repository.find(session, "t1", lock=True)
            assert task is not None
            lifecycle.move(session, task, S.SUCCEEDED, "done", progress=1.0)
    assert await _state(runtime) == ("queued", ["queued"])
    async with session_scope(runtime.sessions) as session:
        task = await repository.find(session, "t1")
        assert task is not None and task.progress == 0.0
        lifecycle.move(session, task, S.CANCELLED, "cancelled")
    assert await _state(runtime) == ("cancelled", ["queued", "cancelled"])


async def test_a_workers_refused_move_writes_nothing_and_a_lost_lease_is_said(
    runtime: Runtime,
) -> None:
    await _queued(runtime)
    async with session_scope(runtime.sessions) as session:
        assert await repository.claim_next(session, "w1", 30) == "t1"
    assert await _state(runtime) == ("validating", ["queued"])
    with pytest.raises(IllegalTransition, match="from validating to succeeded"):
        async with session_scope(runtime.sessions) as session:
            await lifecycle.advance(session, "t1", S.SUCCEEDED, "done", owner="w1")
    with pytest.raises(LeaseLost):
        async with session_scope(runtime.sessions) as session:
            await lifecycle.advance(session, "t1", S.LOADING, "stored", owner="w2")
    assert await _state(runtime) == ("validating", ["queued"])
    async with session_scope(runtime.sessions) as session:
        await lifecycle.advance(session, "t1", S.LOADING, "stored", owner="w1", progress=0.7)
    async with session_scope(runtime.sessions) as session:
        task = await session.get(IngestionTask, "t1")
        assert task is not None and (task.status, task.progress) == ("loading", 0.7)


async def test_the_status_is_never_a_column_to_set(runtime: Runtime) -> None:
    await _queued(runtime)
    async with session_scope(runtime.sessions) as session:
        task = await repository.find(session, "t1")
        assert task is not None
        with pytest.raises(TypeError):
            lifecycle.move(session, task, S.CANCELLED, "x", **{"status": "succeeded"})
        with pytest.raises(TypeError):
            await repository.set_columns(session, "t1", **{"status": "succeeded"})

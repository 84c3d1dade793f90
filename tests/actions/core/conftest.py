"""Actions' core on both backends: a started runtime (workers only where a test asks), people
with a role, and actions created through the service as the doors create them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from backend.actions import service
from backend.actions.models import Action
from backend.actions.schemas import ActionIn
from backend.auth import users
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.config import Settings
from backend.db import session_scope
from backend.runtime import Runtime
from tests.conftest import Backend

FAST: dict[str, Any] = {
    "actions_retry_base_seconds": 0.05,
    "actions_max_deliveries": 3,
    "actions_tick_seconds": 0.1,
    "actions_min_interval_seconds": 1,  # the tests' schedules run every minute
}


def fast_settings(backend: Backend, **values: Any) -> Settings:
    return backend.settings.model_copy(update={**FAST, **values})


async def started(settings: Settings, *, workers: bool = False) -> Runtime:
    runtime = Runtime.build(settings)
    await runtime.start(with_workers=workers)
    return runtime


@pytest.fixture
async def runtime(backend: Backend) -> AsyncIterator[Runtime]:
    """Without workers: the test claims, ticks and runs itself."""
    running = await started(fast_settings(backend))
    try:
        yield running
    finally:
        await running.stop()


async def person(runtime: Runtime, role: Role | None, name: str | None = None) -> Principal:
    """A user with `role`, as the principal of one of their tokens."""
    async with session_scope(runtime.sessions) as session:
        user = await users.create(session, name or f"p{uuid.uuid4().hex[:10]}", role)
    return Principal(
        id=f"token:{uuid.uuid4().hex}", name=user.name, role=role, kind="token", user=user.id
    )


def webhook_in(**values: Any) -> ActionIn:
    body: dict[str, Any] = {
        "name": "hook",
        "kind": "webhook",
        "params": {"url": "https://example.com/hook"},
        "triggers": [{"type": "manual"}],
    }
    return ActionIn.model_validate({**body, **values})


def alert_in(**values: Any) -> ActionIn:
    body: dict[str, Any] = {
        "name": "sales drop",
        "kind": "alert",
        "params": {
            "datasource": "sales",
            "measure": {"column": "amount", "aggregate": "sum"},
            "condition": {"op": "below", "value": 10},
        },
    }
    return ActionIn.model_validate({**body, **values})


async def create(runtime: Runtime, actor: Principal, body: ActionIn) -> tuple[Action, str | None]:
    assert runtime.cipher is not None
    async with session_scope(runtime.sessions) as session:
        return await service.create(session, actor, body, runtime.cipher, settings=runtime.settings)


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Kinds a test registers an executor for, unregistered after it."""
    from backend.actions.kinds import registry

    kinds: list[str] = []
    yield kinds
    for kind in kinds:
        registry.unregister(kind)

"""What a worker gives a kind, built by hand on the real app's runtime: an action row, a run row,
the owner as a principal rebuilt from users, the services, and a checkpoint that merges into the
run's output in the caller's transaction. `execute` then merges the outcome's output as the
worker records it, so a second call on the same run is a retry."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions.delivery import Attempt
from backend.actions.kinds import (
    ActionView,
    Checkpoint,
    Mail,
    Outcome,
    RunContext,
    RunView,
    Services,
)
from backend.actions.models import Action, ActionRun, RunStatus
from backend.actions.outbound.client import OutboundClient
from backend.auth import users
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import session_scope
from backend.runtime import Runtime
from tests.conftest import App


class Kind(Protocol):
    async def execute(self, ctx: RunContext) -> Outcome: ...


@dataclass
class Owner:
    principal: Principal
    client: httpx.AsyncClient  # signed in with the owner's own token


async def owner(app: App, role: Role, name: str, email: str | None = None) -> Owner:
    token = await app.token(role, name)
    client = app.client_as(token)
    if email is not None:
        answer = await client.patch("/api/users/me", json={"email": email})
        assert answer.status_code == 200, answer.text
    async with session_scope(app.runtime.sessions) as session:
        user = await users.named(session, name)
        principal = Principal(
            id=f"user:{user.id}", name=user.name, role=role, kind="token", user=user.id
        )
    return Owner(principal, client)


async def create_action(
    runtime: Runtime, who: Principal, kind: str, params: dict[str, Any], secret: str | None = None
) -> ActionView:
    action_id = uuid.uuid4().hex
    async with session_scope(runtime.sessions) as session:
        session.add(
            Action(
                id=action_id,
                name=f"{kind} {action_id[:6]}",
                kind=kind,
                params=params,
                enabled=True,
                owner_user=who.user,
                owner_id=who.id,
                owner_name=who.name,
            )
        )
    return ActionView(
        id=action_id,
        name=f"{kind} {action_id[:6]}",
        kind=kind,
        params=params,
        secret=secret,
        owner_user=who.user,
        owner_id=who.id,
        owner_name=who.name,
    )


async def new_run(runtime: Runtime, action: ActionView) -> str:
    run_id = uuid.uuid4().hex
    async with session_scope(runtime.sessions) as session:
        session.add(
            ActionRun(
                id=run_id,
                action_id=action.id,
                trigger="manual",
                trigger_key=f"manual:{run_id}",
                status=RunStatus.RUNNING.value,
                attempts=1,
                output={},
            )
        )
    return run_id


async def run_view(runtime: Runtime, run_id: str) -> RunView:
    async with session_scope(runtime.sessions) as session:
        run = await session.get(ActionRun, run_id)
        assert run is not None
        return RunView(
            id=run.id,
            trigger=run.trigger,
            trigger_key=run.trigger_key,
            scheduled_for=run.scheduled_for,
            input=run.input,
            attempts=run.attempts,
            deliveries=run.deliveries,
            output=dict(run.output or {}),
            created_at=run.created_at,
        )


def checkpointer(run_id: str) -> Checkpoint:
    async def checkpoint(session: AsyncSession, values: dict[str, Any]) -> None:
        run = await session.get(ActionRun, run_id, with_for_update=True)
        assert run is not None
        run.output = {**(run.output or {}), **values}

    return checkpoint


class NoMail:
    async def send(
        self,
        to: Sequence[str],
        subject: str,
        text: str,
        attachments: Sequence[tuple[str, bytes]],
    ) -> Attempt:
        raise AssertionError("this test sends no mail")


def services(runtime: Runtime, outbound: OutboundClient, mailer: Mail | None = None) -> Services:
    return Services(
        settings=runtime.settings,
        sessions=runtime.sessions,
        read_sessions=runtime.reading(),
        intake=runtime.intake(),
        analytics=runtime.analytics,
        store=runtime.store,
        outbound=outbound,
        mailer=mailer or NoMail(),
        wake_workers=lambda: None,
    )


async def execute(
    kind: Kind,
    runtime: Runtime,
    action: ActionView,
    run_id: str,
    who: Principal,
    given: Services,
    now: dt.datetime | None = None,
) -> Outcome:
    """One attempt of the run, its outcome's output merged into the run as the worker does."""
    run = await run_view(runtime, run_id)
    moment = now or dt.datetime.now(dt.UTC)
    ctx = RunContext(action, run, who, given, checkpointer(run_id), moment)
    outcome = await kind.execute(ctx)
    async with session_scope(runtime.sessions) as session:
        stored = await session.get(ActionRun, run_id)
        assert stored is not None
        stored.output = {**(stored.output or {}), **outcome.output}
    return outcome

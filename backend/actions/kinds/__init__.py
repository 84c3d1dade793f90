"""What each kind of action does when its run is executed: one module per kind (imports,
webhook, alert, report), each with `async def execute(ctx: RunContext) -> Outcome`.

An executor runs outside any transaction and never changes the run's status itself: it returns
an Outcome and the worker (backend.actions.worker) records it, one delivery row per attempt,
and retries or ends the run by the rules of backend.actions.delivery. Work that must happen
exactly once (an alert's change of state, an import's file) is written with `ctx.checkpoint`
in the same transaction as its effect, so a retried run sees it in `ctx.run.output`. An
executor writes only in `ctx.transaction()`, which holds the run's row before anything else."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions.delivery import Attempt
from backend.actions.outbound.client import OutboundClient
from backend.analytics.service import Analytics
from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import SessionMaker, session_scope
from backend.ingestion.intake import Intake
from backend.storage import ObjectStore


class Mail(Protocol):
    """backend.actions.mail.Mailer: its Attempt's target is smtp://host:port."""

    async def send(
        self,
        to: Sequence[str],
        subject: str,
        text: str,
        attachments: Sequence[tuple[str, bytes]],
    ) -> Attempt: ...


@dataclass(frozen=True)
class Services:
    """What kinds may use; one per process (backend.runtime builds it)."""

    settings: Settings
    sessions: SessionMaker
    read_sessions: SessionMaker
    intake: Intake
    analytics: Analytics
    store: ObjectStore
    outbound: OutboundClient
    mailer: Mail
    wake_workers: Callable[[], None]


@dataclass(frozen=True)
class ActionView:
    """The action as its run sees it; `secret` decrypted (never logged, never in an output)."""

    id: str
    name: str
    kind: str
    params: dict[str, Any]
    secret: str | None
    owner_user: str | None
    owner_id: str
    owner_name: str


@dataclass(frozen=True)
class RunView:
    """The run being executed; `output` holds what earlier attempts checkpointed."""

    id: str
    trigger: str
    trigger_key: str
    scheduled_for: dt.datetime | None
    input: dict[str, Any] | None
    attempts: int
    deliveries: int
    output: dict[str, Any]
    created_at: dt.datetime


Checkpoint = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class RunContext:
    """`owner` is the action's owner as a principal rebuilt from the users table now (a
    disabled owner's run fails before it gets here). `checkpoint(session, values)` merges
    values into the run's output in the caller's transaction, only while this worker holds
    the run's lease (LeaseLost otherwise)."""

    action: ActionView
    run: RunView
    owner: Principal
    services: Services
    checkpoint: Checkpoint
    now: dt.datetime

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction of the metadata database that first holds the run's row (LeaseLost
        when this worker no longer holds the run). Locks are then taken in the order deleting
        the action takes them (the run, then the action): a row written here that refers to the
        action (an alert's state, an import's file) waits for a delete, or the delete waits for
        this transaction, instead of each waiting for the other."""
        async with session_scope(self.services.sessions) as session:
            await self.checkpoint(session, {})
            yield session


@dataclass
class Outcome:
    """`retry`: a delivery failed in a way worth trying again (the worker decides whether the
    run still may, and when). `output` is merged into the run's output; `error` is
    {code, message, hint} with sentences a person reads."""

    status: Literal["succeeded", "failed", "retry"]
    output: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    retry_after: float | None = None


class Executor(Protocol):
    async def __call__(self, ctx: RunContext) -> Outcome: ...


def message_id(run_id: str) -> str:
    """A webhook's `webhook-id`: one per run, the same on every retry."""
    return f"msg_{run_id}"


def event_body(kind: str, at: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    """A webhook's JSON body, in the shape the Standard Webhooks specification recommends."""
    return {"type": kind, "timestamp": at.astimezone(dt.UTC).isoformat(), "data": data}

"""What the import tests share: a file server on 127.0.0.1 that answers conditional GETs as a
web server does (ETag, 304), an import action stored in the database, and one run of it
executed against the running app's real services (database, store, outbound client)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions.kinds import ActionView, Outcome, RunContext, RunView, Services, imports
from backend.actions.models import Action, ActionRun
from backend.actions.outbound.client import OutboundClient
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.runtime import Runtime
from tests.actions.outbound.receiver import Reply, Seen, receiving

OWNER = Principal(id="token:importer", name="importer", role=Role.UPLOADER, kind="token")


@dataclass
class Files:
    """What the server serves (path -> bytes); `token` is the header value it requires."""

    served: dict[str, bytes] = field(default_factory=dict)
    token: str | None = None
    etags: bool = True

    def answer(self, seen: Seen) -> Reply:
        if self.token is not None and seen.headers.get("x-token") != self.token:
            return Reply(401, body=b"a token is needed")
        body = self.served.get(seen.path.split("?", 1)[0])
        if body is None:
            return Reply(404, body=b"no such file")
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if self.etags and seen.headers.get("if-none-match") == etag:
            return Reply(304, {"ETag": etag})
        return Reply(200, {"ETag": etag} if self.etags else {}, body)


@contextmanager
def file_server(files: Files) -> Iterator[Any]:
    with receiving(files.answer) as receiver:
        yield receiver


async def store_action(
    runtime: Runtime, params: dict[str, Any], *, secret: str | None = None
) -> ActionView:
    """An import action as the service stores it (the header's value sealed elsewhere: the
    run gets it as `secret`)."""
    action_id = uuid.uuid4().hex
    stored = {**params}
    if "header" in stored:
        stored["header"] = {"name": stored["header"]["name"], "set": True}
    async with session_scope(runtime.sessions) as session:
        session.add(
            Action(
                id=action_id,
                name="nightly import",
                kind="import",
                params=stored,
                enabled=True,
                owner_id=OWNER.id,
                owner_name=OWNER.name,
            )
        )
    return ActionView(
        id=action_id,
        name="nightly import",
        kind="import",
        params=stored,
        secret=secret,
        owner_user=None,
        owner_id=OWNER.id,
        owner_name=OWNER.name,
    )


async def _checkpoint_for(run_id: str) -> Any:
    async def checkpoint(session: AsyncSession, values: dict[str, Any]) -> None:
        run = await session.get(ActionRun, run_id, with_for_update=True)
        assert run is not None
        run.output = {**(run.output or {}), **values}

    return checkpoint


@asynccontextmanager
async def services_of(runtime: Runtime) -> AsyncIterator[Services]:
    settings = runtime.settings
    outbound = OutboundClient(
        settings.actions_allowed_hosts,
        timeout_seconds=settings.actions_http_timeout_seconds,
        max_redirects=settings.actions_max_redirects,
    )
    try:
        yield Services(
            settings=settings,
            sessions=runtime.sessions,
            read_sessions=runtime.reading(),
            intake=runtime.intake(),
            analytics=runtime.analytics,
            store=runtime.store,
            outbound=outbound,
            mailer=NoMail(),
            wake_workers=runtime.wake_workers,
        )
    finally:
        await outbound.aclose()


class NoMail:
    async def send(self, *_args: Any) -> Any:
        raise AssertionError("an import sends no mail")


async def run_once(
    runtime: Runtime, action: ActionView, owner: Principal = OWNER
) -> tuple[str, Outcome]:
    """One manual run of the action, executed as the worker would (the run row exists)."""
    run_id = uuid.uuid4().hex
    now = utcnow()
    async with session_scope(runtime.sessions) as session:
        session.add(
            ActionRun(
                id=run_id,
                action_id=action.id,
                trigger="manual",
                trigger_key=f"manual:{run_id}",
                status="running",
                attempts=1,
                output={},
                created_at=now,
            )
        )
    view = RunView(run_id, "manual", f"manual:{run_id}", None, None, 1, 0, {}, now)
    async with services_of(runtime) as services:
        context = RunContext(
            action, view, owner, services, await _checkpoint_for(run_id), dt.datetime.now(dt.UTC)
        )
        return run_id, await imports.execute(context)


_SOURCE = sa.table(
    "ingestion_tasks",
    sa.column("id", sa.String),
    sa.column("source_action_id", sa.String),
    sa.column("source_run_id", sa.String),
)


async def task_source(runtime: Runtime, task_id: str) -> tuple[str | None, str | None]:
    async with session_scope(runtime.sessions) as session:
        row = (
            await session.execute(
                sa.select(_SOURCE.c.source_action_id, _SOURCE.c.source_run_id).where(
                    _SOURCE.c.id == task_id
                )
            )
        ).one()
    return row[0], row[1]

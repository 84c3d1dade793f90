"""What the import tests share: a file server on 127.0.0.1 that answers conditional GETs as a
web server does (ETag, 304), an import action stored in the database, and one run of it
executed against the running app's real services (database, store, outbound client)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions.kinds import ActionView, Outcome, RunContext, RunView, imports
from backend.actions.models import Action, ActionRun
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.runtime import Runtime
from tests.actions.outbound.receiver import Reply, Seen, receiving

OWNER = Principal(id="token:importer", name="importer", role=Role.UPLOADER, kind="token")


@dataclass
class Files:
    """What the server serves (path -> bytes), versioned as `versions` says: "etag" (ETag and
    If-None-Match), "last-modified" (Last-Modified and If-Modified-Since, a new date for new
    bytes) or "none"; `token` is the X-Token value it requires; `named` a Content-Disposition
    file name."""

    served: dict[str, bytes] = field(default_factory=dict)
    token: str | None = None
    versions: str = "etag"
    named: str | None = None
    dates: dict[bytes, str] = field(default_factory=dict)

    def answer(self, seen: Seen) -> Reply:
        if self.token is not None and seen.headers.get("x-token") != self.token:
            return Reply(401, body=b"a token is needed")
        body = self.served.get(seen.path.split("?", 1)[0])
        if body is None:
            return Reply(404, body=b"no such file")
        headers = self._version(body)
        asked = {"ETag": "if-none-match", "Last-Modified": "if-modified-since"}
        if any(seen.headers.get(asked[name]) == value for name, value in headers.items()):
            return Reply(304, headers)
        if self.named:
            headers["Content-Disposition"] = f'attachment; filename="{self.named}"'
        return Reply(200, headers, body)

    def _version(self, body: bytes) -> dict[str, str]:
        if self.versions == "etag":
            return {"ETag": f'"{hashlib.sha256(body).hexdigest()[:16]}"'}
        if self.versions == "last-modified":
            if body not in self.dates:
                self.dates[body] = f"Tue, {len(self.dates) + 1:02d} Dec 2026 07:00:00 GMT"
            return {"Last-Modified": self.dates[body]}
        return {}


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
    services = runtime.action_services
    assert services is not None, "the runtime is started"
    checkpoint = await _checkpoint_for(run_id)
    context = RunContext(action, view, owner, services, checkpoint, dt.datetime.now(dt.UTC))
    return run_id, await imports.execute(context)


async def wait_for_run(runtime: Runtime, action_id: str, *, timeout: float = 60) -> ActionRun:
    """The action's latest run once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        async with session_scope(runtime.sessions) as session:
            run = (
                await session.scalars(
                    sa.select(ActionRun)
                    .where(ActionRun.action_id == action_id)
                    .order_by(ActionRun.created_at.desc())
                    .limit(1)
                )
            ).first()
        if run is not None and run.status in ("succeeded", "failed"):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"the run of {action_id} has not ended: {run}")
        await asyncio.sleep(0.05)

"""Typed dependencies shared by REST routes and the GraphQL context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.config import Settings
from backend.db import session_scope
from backend.ingestion.service import WAKE_WORKERS
from backend.runtime import Runtime


@dataclass(frozen=True)
class Principal:
    """Who is calling. Everyone is anonymous until access control lands; roles are checked here."""

    name: str = "anonymous"
    roles: frozenset[str] = frozenset()


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed before the response is sent."""
    async with session_scope(runtime.sessions) as session:
        yield session
        wake = session.info.pop(WAKE_WORKERS, False)
    if wake:
        runtime.wake_workers()


async def get_principal() -> Principal:
    return Principal()


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a 202 means recorded.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(get_principal)]

"""The GraphQL request context: built from the same typed dependencies as REST routes."""

from __future__ import annotations

from typing import cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from backend.analytics.budget import Budget
from backend.analytics.service import CacheTrace
from backend.auth.principal import Principal
from backend.deps import PrincipalDep, RuntimeDep, SessionDep
from backend.errors import BadRequest
from backend.ingestion import service as ingestion_service
from backend.runtime import Runtime

PREFLIGHT_HEADERS = ("graphql-preflight", "apollo-require-preflight")


class Context(BaseContext):
    def __init__(self, runtime: Runtime, session: AsyncSession, principal: Principal) -> None:
        super().__init__()
        self.runtime = runtime
        self.session = session
        self.principal = principal
        self.connection_params: object = None  # graphql-transport-ws connection_init payload
        settings = runtime.settings
        self.cache_trace = CacheTrace(
            budget=Budget(
                settings.query_timeout_seconds, settings.query_max_cells, settings.query_parallel
            )
        )

    @property
    def http_request(self) -> Request:
        return cast(Request, self.request)


Info = StrawberryInfo[Context, None]


async def get_context(runtime: RuntimeDep, session: SessionDep, principal: PrincipalDep) -> Context:
    return Context(runtime, session, principal)


async def guard_multipart(request: HTTPConnection, runtime: RuntimeDep) -> None:
    """Multipart GraphQL requests are a CSRF vector (a plain HTML form can send them): require a
    preflight header, which browsers only send from scripts allowed by CORS."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        return
    if not any(request.headers.get(h) for h in PREFLIGHT_HEADERS):
        raise BadRequest(
            "multipart GraphQL requests need a CSRF preflight header",
            "Add the header 'GraphQL-Preflight: 1' (or 'Apollo-Require-Preflight: true') to uploads.",
        )
    ingestion_service.check_declared_size(
        request.headers.get("content-length"), runtime.settings.max_upload_bytes, runtime.space
    )


MultipartGuard = Depends(guard_multipart)

"""The GraphQL request context: who is calling and the request's transaction, found by the same
functions as REST routes' dependencies."""

from __future__ import annotations

from typing import cast

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from backend.analytics.budget import Budget
from backend.analytics.service import CacheTrace
from backend.auth.principal import Principal
from backend.deps import bearer_of, end_request_session, principal_of
from backend.errors import BadRequest
from backend.runtime import Runtime

PREFLIGHT_HEADERS = ("graphql-preflight", "apollo-require-preflight")


class Context(BaseContext):
    def __init__(
        self, runtime: Runtime, principal: Principal, session: AsyncSession | None = None
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.principal = principal
        self.opened: AsyncSession | None = session
        self.connection_params: object = None  # graphql-transport-ws connection_init payload
        self.token: str | None = None  # the bearer token the caller authenticated with
        settings = runtime.settings
        self.cache_trace = CacheTrace(
            budget=Budget(
                settings.query_timeout_seconds, settings.query_max_cells, settings.query_parallel
            )
        )

    @property
    def session(self) -> AsyncSession:
        """The request's transaction, opened when a field first needs it (most dashboard
        answers need none) and committed before the response is sent (get_context)."""
        if self.opened is None:
            self.opened = self.runtime.sessions()
        return self.opened

    @property
    def http_request(self) -> Request:
        return cast(Request, self.request)


Info = StrawberryInfo[Context, None]


async def get_context(request: HTTPConnection) -> Context:
    """One dependency for the whole context (each FastAPI dependency costs a GraphQL request
    about 30 us to solve): who is calling and the multipart guard. Its transaction, opened on
    first use, is ended by `end` when the request has its answer, before the answer is sent (a
    yield dependency here would commit after the response went out)."""
    runtime: Runtime = request.app.state.runtime
    guard_multipart(request, runtime)
    context = Context(runtime, await principal_of(request, runtime))
    context.token = bearer_of(request)
    return context


async def end(context: object, *, failed: bool) -> None:
    """Commits (or rolls back) the request's transaction if a field opened one, as
    `get_session` does for REST routes; a failed commit raises, so the client gets an error."""
    if isinstance(context, Context) and context.opened is not None:
        opened, context.opened = context.opened, None
        await end_request_session(context.runtime, opened, failed=failed)


def guard_multipart(request: HTTPConnection, runtime: Runtime) -> None:
    """Multipart GraphQL requests are a CSRF vector (a plain HTML form can send them): require a
    preflight header, which browsers only send from scripts allowed by CORS."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        return
    if not any(request.headers.get(h) for h in PREFLIGHT_HEADERS):
        raise BadRequest(
            "multipart GraphQL requests need a CSRF preflight header",
            "Add the header 'GraphQL-Preflight: 1' (or 'Apollo-Require-Preflight: true') to uploads.",
        )
    runtime.intake().check_declared_size(request.headers.get("content-length"))

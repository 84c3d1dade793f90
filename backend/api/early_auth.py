"""Who is calling, decided before a request body is read: a REST route's body needs the role the
route states (`allow(...)`), an upload (any multipart body) the uploader role, and a body to no
route a role at all (only /graphql answers anonymous callers itself), so a caller without a
valid token is refused after reading its headers, not after streaming a 60 MB body (FastAPI
reads a route's body before solving its dependencies). BodyLimit then closes the connection instead of
draining the rest. The principal found here is the one the route uses (it is counted once
against the rate limit)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.roles import Role
from backend.deps import RoleCheck, check_role, principal_of
from backend.errors import AppError, as_app_error

_READS = ("GET", "HEAD", "OPTIONS")
# Paths that answer anonymous callers themselves (GraphQL's own errors for each field).
ANSWERS_ANONYMOUS = ("/graphql",)


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"


def _api_routes(found: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in found:
        included = getattr(route, "original_router", None)  # FastAPI's lazily included routers
        if included is not None:
            yield from _api_routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def _stated_role(route: APIRoute) -> Role | None:
    def walk(dependant: Any) -> Iterator[Role]:
        for sub in dependant.dependencies:
            if isinstance(sub.call, RoleCheck):
                yield sub.call.role
            yield from walk(sub)

    return next(walk(route.dependant), None)


def _route_role(scope: Scope) -> Role | None:
    """The role the REST route the request goes to states; VIEWER for no route (a 404 or 405
    still needs a caller), None for the routes that answer anyone."""
    if scope["path"] in ANSWERS_ANONYMOUS:
        return None
    for route in _api_routes(scope["app"].routes):
        if route.matches(scope)[0] is Match.FULL:
            return _stated_role(route)
    return Role.VIEWER


def _needed(scope: Scope) -> list[tuple[Role, str]]:
    needed = []
    route_role = _route_role(scope)
    if route_role is not None:
        needed.append((route_role, f"{scope['method']} {scope['path']}"))
    content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
    if content_type.startswith(b"multipart/"):
        needed.append((Role.UPLOADER, "uploading a file"))
    return needed


def _answer(scope: Scope, error: AppError) -> dict[str, Any]:
    """The refusal in the shape the door's clients read: GraphQL's `errors` with a code (as a
    field's refusal carries it) at /graphql, the JSON error everywhere else."""
    if scope["path"] in ANSWERS_ANONYMOUS:
        extensions = {
            "code": error.code.upper(),
            "status": error.status_code,
            "detail": error.detail,
        }
        return {"data": None, "errors": [{"message": error.message, "extensions": extensions}]}
    return error.body()


class AuthBeforeBody:
    """Resolves and checks the caller of every request that carries a body before the app
    reads it (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        try:
            await self._check(scope)
        except Exception as exc:
            error = exc if isinstance(exc, AppError) else as_app_error(exc)
            if error is None:
                raise
            response = JSONResponse(
                _answer(scope, error), error.status_code, headers=error.headers or None
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope) -> None:
        connection = HTTPConnection(scope)
        runtime = scope["app"].state.runtime
        principal = await principal_of(connection, runtime)
        for role, what in _needed(scope):
            await check_role(runtime, principal, role, connection, what)

"""Who is calling, decided before a request body is read: an upload (any multipart body) needs
the uploader role and any other body a role at all (only /graphql answers anonymous callers
itself), so a caller without a valid token is refused after reading its headers, not after
streaming a 60 MB body to the service. BodyLimit then closes the connection instead of
draining the rest. The principal found here is the one the route uses (it is counted once
against the rate limit)."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.roles import Role
from backend.deps import check_role, principal_of
from backend.errors import AppError, as_app_error

_READS = ("GET", "HEAD", "OPTIONS")
# Paths that answer anonymous callers themselves (GraphQL's own errors for each field).
ANSWERS_ANONYMOUS = ("/graphql",)


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"


def _needed(scope: Scope) -> Role | None:
    content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
    if content_type.startswith(b"multipart/"):
        return Role.UPLOADER
    return None if scope["path"] in ANSWERS_ANONYMOUS else Role.VIEWER


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
            body = {"error": error.message, "detail": error.detail, "code": error.code}
            response = JSONResponse(body, error.status_code, headers=error.headers or None)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope) -> None:
        connection = HTTPConnection(scope)
        runtime = scope["app"].state.runtime
        principal = await principal_of(connection, runtime)
        needed = _needed(scope)
        if needed is not None:
            what = "uploading a file" if needed is Role.UPLOADER else "sending a request body"
            await check_role(runtime, principal, needed, connection, what)

"""One error hierarchy for the service, rendered as one JSON shape by REST and as typed GraphQL errors."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from polars.exceptions import PanicException
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.db import database_unreachable

log = logging.getLogger(__name__)


# What a safety net catches: every error, and Polars' panics, which derive from BaseException (so
# `except Exception` lets one end a worker's loop or a request's connection).
UNEXPECTED: tuple[type[BaseException], ...] = (Exception, PanicException)


class EnginePanic(RuntimeError):
    """Polars (or another native library) panicked: an internal fault, not the caller's input."""


class AppError(Exception):
    """An expected failure a user can act on. `detail` says what to change."""

    status_code = 400
    code = "bad_request"

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries (WWW-Authenticate, Retry-After...)."""
        return {}

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, str | None]:
        return {"error": self.message, "detail": self.detail, "code": self.code}


class InvalidInput(AppError):
    status_code = 422
    code = "invalid_input"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="sales-ingest"'}


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class NestsTooDeeply(BadRequest):
    """JSON nested past what the decoder recurses into (it raises RecursionError: was a 500)."""

    def __init__(self) -> None:
        super().__init__(
            "The JSON nests too deeply",
            "Send variables nested a few levels, not hundreds (arrays and objects inside one "
            "another).",
        )


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"


class Busy(ServiceUnavailable):
    code = "busy"
    retry_after_seconds = 2

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class DependencyUnavailable(Busy):
    """A service we depend on (the metadata database, the object storage) does not answer: the
    client may retry (Retry-After); the message names the part by role, never its address."""

    code = "service_unavailable"
    retry_after_seconds = 5


class InsufficientStorage(AppError):
    """A disk the service writes to is full (or would be past MIN_FREE_DISK_MB)."""

    status_code = 507
    code = "insufficient_storage"


def database_unavailable() -> DependencyUnavailable:
    return DependencyUnavailable(
        "The metadata database cannot be reached right now",
        "Try again in a moment (Retry-After says when); an upload sent again is recognised, "
        "not loaded twice. Operators: /api/health says which part is down.",
    )


class StorageOutage(DependencyUnavailable):
    """The object storage did not answer (or said to come back later): a worker waits for it."""


def storage_unavailable() -> StorageOutage:
    return StorageOutage(
        "The file storage cannot be reached right now",
        "Try again in a moment (Retry-After says when): nothing of this request was kept. "
        "Operators: /api/health says which part is down.",
    )


# What each folder the service writes to is called for a reader, and the setting that moves it.
DISK_ROLES = {
    "temporary folder": "TMPDIR",
    "storage folder": "STORAGE_URL",
    "cache folder": "CACHE_DIR",
}


def disk_full(place: str) -> InsufficientStorage:
    """ENOSPC where the service writes: which folder (by its role, never its path) and what to do."""
    setting = DISK_ROLES.get(place, "MIN_FREE_DISK_MB")
    return InsufficientStorage(
        f"The server's {place} is full",
        f"Try again later. Operators: free disk space where the {place} is, or point {setting} "
        "at a larger disk.",
    )


def is_disk_full(error: BaseException | None) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def as_app_error(error: BaseException | None) -> AppError | None:
    """The error a client is shown for `error`: our own as they are; the metadata database
    overloaded or unreachable (no pooled connection within DATABASE_WAIT_SECONDS, SQLite's write
    lock held too long, the connection lost or refused) as a 503 the client can retry; None for
    a fault of ours (a missing table is an OperationalError too, and stays a masked 500)."""
    if isinstance(error, AppError):
        return error
    if _database_busy(error):
        return Busy(
            "The service is busy: the metadata database did not answer in time",
            "Try again in a moment; an upload sent again is recognised, not loaded twice.",
        )
    if database_unreachable(error):
        return database_unavailable()
    return None


# SQLSTATEs of a PostgreSQL that cannot serve now: connection exceptions (class 08), too many
# connections, starting up or shutting down.
_UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")
_SQLITE_BUSY = ("database is locked", "database table is locked")


def _database_busy(error: BaseException | None) -> bool:
    if isinstance(error, sqlalchemy.exc.TimeoutError):
        return True  # no pooled connection in time
    if not isinstance(error, sqlalchemy.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", ""))
    if sqlstate and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    return isinstance(error, sqlalchemy.exc.OperationalError) and str(error.orig) in _SQLITE_BUSY


_BY_STATUS = {
    cls.status_code: cls
    for cls in (BadRequest, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType)
}


def for_status(status_code: int, message: str, detail: str | None = None) -> AppError:
    """The error for a status another library decided on (Strawberry's HTTP layer)."""
    error = _BY_STATUS.get(status_code, AppError)(message, detail)
    error.status_code = status_code
    return error


class ErrorBody(BaseModel):
    """The body of every error answer (4xx and 5xx) of the REST API."""

    error: str = Field(description="What went wrong")
    detail: str | None = Field(description="What to change, when known")
    code: str = Field(description="Stable and machine-readable: invalid_input, not_found, ...")


def _json(
    status: int,
    error: str,
    detail: str | None,
    code: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail, code=code)
    return JSONResponse(status_code=status, content=body.model_dump(), headers=headers)


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return _json(exc.status_code, exc.message, exc.detail, exc.code, exc.headers or None)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    error = as_app_error(exc)
    if error is None:
        raise exc  # a fault of ours: CatchUnexpected logs it and answers 500
    log.warning(
        "%s %s answered 503: the metadata database is busy or unreachable (%s)",
        request.method,
        request.url.path,
        type(exc).__name__,
    )
    return _json(error.status_code, error.message, error.detail, error.code, error.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return _json(422, "The request is not valid", "; ".join(problems), InvalidInput.code)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})  # kept: how to authenticate (401), what is allowed (405)
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return _json(exc.status_code, str(exc.detail), None, "http_error", headers)


# The web app's catch-all route (backend.api.frontend): a 405's Allow leaves it out, or every
# path of the API would advertise GET and HEAD.
FALLBACK_ROUTE = "frontend_client_route"


def allowed_methods(request: Request) -> str:
    """Every method the path takes: Starlette's Allow names only those of the first route that
    matched the path (/graphql has one route for GET and another for POST)."""
    root, path = request.scope.get("root_path", ""), request.url.path
    path = path.removeprefix(root) if root and path.startswith(f"{root}/") else path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if getattr(route, "name", None) == FALLBACK_ROUTE:
            continue  # the web app's catch-all, not a method of the path
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


class CatchUnexpected:
    """The last word on an unexpected exception: logged once, here (with its traceback), and
    answered 500 in the ErrorBody shape. Not re-raised, so the server does not log it again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except UNEXPECTED as exc:
            known = as_app_error(exc)
            if known is not None and not started:
                await _known_failure(scope, known, exc)(scope, receive, send)
                return
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return  # the answer was under way: the connection just ends
            response = _json(
                500, "Internal server error", "The error was logged; please report it.", "internal"
            )
            await response(scope, receive, send)


def _known_failure(scope: Scope, error: AppError, cause: BaseException) -> JSONResponse:
    """An error raised past the route's handlers (a dependency's commit, a body being read)
    that is one a client can act on: a dependency down (503) or a full disk (507)."""
    log.warning(
        "%s %s answered %d: %s (%s)",
        scope.get("method"),
        scope.get("path"),
        error.status_code,
        error.message,
        type(cause).__name__,
    )
    return _json(error.status_code, error.message, error.detail, error.code, error.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as an ErrorBody, and say so in the app's OpenAPI document."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _database_error)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, _database_error)
    app.add_middleware(CatchUnexpected)
    app.openapi = _openapi_with_error_bodies(app.openapi)  # type: ignore[method-assign]


_SCHEMAS = "#/components/schemas/"
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _openapi_with_error_bodies(
    openapi: Callable[[], dict[str, Any]],
) -> Callable[[], dict[str, Any]]:
    def with_error_bodies() -> dict[str, Any]:
        return document_error_bodies(openapi())  # FastAPI caches it; this is idempotent

    return with_error_bodies


def document_error_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """Error answers documented as the handlers above send them: FastAPI documents its own
    HTTPValidationError for 422, routes declare error statuses without a body, and the 400 for
    a body that is not even JSON (not UTF-8) goes unsaid."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template=_SCHEMAS + "{model}")
    for path, path_item in document.get("paths", {}).items():
        for operation in path_item.values():
            _document_access(path, operation)
            if "requestBody" in operation:  # FastAPI's answer to a body it cannot decode
                unreadable = {"description": "The request body cannot be read"}
                operation.setdefault("responses", {}).setdefault("400", unreadable)
            for status, response in operation.get("responses", {}).items():
                if _is_error(status) and not _has_own_schema(response):
                    response["content"] = {
                        "application/json": {"schema": {"$ref": _SCHEMAS + "ErrorBody"}}
                    }
    for name in _FASTAPI_ERROR_SCHEMAS:
        if f'"{_SCHEMAS}{name}"' not in json.dumps(document):
            schemas.pop(name, None)
    return document


_ACCESS_ANSWERS = {
    "401": "No token, or a token that is unknown, revoked or expired",
    "403": "The token's role is too low for this, or a write from another site",
    "429": "Too many requests from this principal (Retry-After says when to try again)",
    "503": "The token cannot be checked: the metadata database does not answer",
}


def _document_access(path: str, operation: dict[str, Any]) -> None:
    """Operations behind the bearer scheme (backend.deps) answer these too. GraphQL's endpoint
    takes calls without a token (each field states its role and refuses in the GraphQL answer),
    so its scheme is optional there."""
    if not operation.get("security"):
        return
    if path == "/graphql":
        operation["security"] = [*operation["security"], {}]
    responses = operation.setdefault("responses", {})
    for status, description in _ACCESS_ANSWERS.items():
        responses.setdefault(status, {"description": description})


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5")


def _has_own_schema(response: dict[str, Any]) -> bool:
    """A schema the route declared itself (a health body on 503), not FastAPI's or none."""
    schemas = [media.get("schema") for media in response.get("content", {}).values()]
    fastapi_422 = {"$ref": _SCHEMAS + "HTTPValidationError"}
    return any(schema and schema != fastapi_422 for schema in schemas)

"""The REST rendering of the error hierarchy (`backend.errors`): one JSON body for every 4xx and
5xx, the handlers FastAPI calls, the catch-all middleware and the error bodies in OpenAPI."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import UNEXPECTED, AppError, InvalidInput, as_app_error
from backend.pipeline import remedies
from backend.pipeline.remedies import Door

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """The body of every error answer (4xx and 5xx) of the REST API."""

    error: str = Field(description="What went wrong")
    detail: str | None = Field(description="What to change, when known")
    code: str = Field(description="Stable and machine-readable: invalid_input, not_found, ...")
    remedies: list[dict[str, Any]] = Field(
        default_factory=list,
        description="When an action would get it done: {action: force, options: {force: true}}, "
        "also worded in detail; absent otherwise",
    )


def _json(
    status: int,
    error: str,
    detail: str | None,
    code: str,
    headers: Mapping[str, str] | None = None,
    remedies: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail, code=code)
    if remedies:
        body.remedies = remedies
    content = body.model_dump(exclude_unset=True) | {"detail": detail}
    return JSONResponse(status_code=status, content=content, headers=headers)


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    detail = remedies.detail(exc.detail, exc.remedies, Door.REST)
    return _json(exc.status_code, exc.message, detail, exc.code, exc.headers or None, exc.remedies)


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
    return _json(422, "The request is not valid", problems(exc.errors()), InvalidInput.code)


# Pydantic names the members of a union in an error's location ("branch.constrained-str",
# "branch.int"): they are types, not fields a client sent.
_SCALAR_TAGS = frozenset(
    {"str", "int", "float", "bool", "bytes", "list", "dict", "set", "tuple", "none", "decimal"}
    | {"date", "datetime", "time", "timedelta", "uuid", "url", "literal", "enum", "json"}
)
_BODY_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})


def _is_type_tag(part: object) -> bool:
    if not isinstance(part, str) or not part:
        return False
    return part[0].isupper() or "[" in part or "-" in part or part in _SCALAR_TAGS


# The tags of tagged unions (an action's trigger types): pydantic names the member after the
# item's index ("triggers.0.event.event"); the client sent "triggers.0.event".
_UNION_TAGS = frozenset({"manual", "schedule", "event"})


def _fields(loc: Sequence[Any]) -> list[Any]:
    """An error's location as the fields the client sent: no body, type or union-tag parts."""
    found: list[Any] = []
    after_index = False
    for part in loc:
        if part == "body" or _is_type_tag(part):
            continue
        tag, after_index = after_index and part in _UNION_TAGS, isinstance(part, int)
        if not tag:
            found.append(part)
    return found


def problems(errors: Sequence[Any]) -> str:
    """Pydantic's errors as sentences: one per field (a union's members said as one), the body
    itself named as such."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for err in errors:
        loc = _fields(err.get("loc", ()))
        where = "" if err.get("type") == "json_invalid" else ".".join(str(p) for p in loc)
        grouped.setdefault(where, []).append(err)
    return " ".join(_sentence(where, found) for where, found in grouped.items())


def _sentence(where: str, errors: list[Mapping[str, Any]]) -> str:
    first = errors[0]
    kind, message = str(first.get("type", "")), str(first.get("msg", "is not valid"))
    # A validator's own sentence (ValueError) is said as it is, not as pydantic prefixes it.
    message = message.removeprefix("Value error, ").rstrip(".")
    if not where:
        if kind == "json_invalid":
            reason = str(first.get("ctx", {}).get("error", "")).strip()
            return f"The request body is not valid JSON{f' ({reason})' if reason else ''}."
        if kind in _BODY_NOT_AN_OBJECT:
            return "The request body should be a JSON object, sent as application/json."
        return f"The request body: {message[:1].lower()}{message[1:]}."
    if kind == "missing":
        return f"{where} is required."
    if kind == "extra_forbidden":
        return f"{where} is not a field this request takes."
    wanted = [str(e.get("msg", "")) for e in errors]
    if all(m.startswith("Input should be ") for m in wanted):
        forms = dict.fromkeys(m.removeprefix("Input should be ") for m in wanted)
        return f"{where} should be {' or '.join(forms)}."
    return f"{where}: {message[:1].lower()}{message[1:]}."


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})  # kept: how to authenticate (401), what is allowed (405)
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    if exc.status_code == 400 and exc.detail == _UNPARSED:
        return _json(
            400,
            "the request body cannot be read",
            "Send JSON in UTF-8 that nests a few hundred levels at most.",
            "http_error",
            headers,
        )
    return _json(exc.status_code, str(exc.detail), None, "http_error", headers)


_UNPARSED = "There was an error parsing the body"  # FastAPI's words for any body it cannot parse


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


# Sign-in and password changes: their own 429, counted per name and per address.
TOO_MANY_ATTEMPTS: dict[str, Any] = {
    "model": ErrorBody,
    "description": "Too many failed attempts for this name, or too many from this address "
    "(Retry-After says when to try again)",
}
_ACCESS_ANSWERS = {
    "401": "Not signed in: no session or token, or one that is unknown, ended, revoked or expired",
    "403": "The caller's role is too low for this, or a write from another site or without its "
    "session's CSRF token",
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

"""Strawberry GraphQL: one module per domain, merged into one Schema."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any, cast

import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from fastapi import Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from graphql import GraphQLError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, StreamResult
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from backend.config import Settings
from backend.deps import record_refusal
from backend.errors import (
    BadRequest,
    Busy,
    NestsTooDeeply,
    PayloadTooLarge,
    UnsupportedMediaType,
    as_app_error,
    for_status,
)
from backend.monitoring.application import OPERATION_STATE
from backend.monitoring.routes import known_operation
from backend.schema import graphiql, socket
from backend.schema.actions import ActionMutation, ActionQuery
from backend.schema.analytics import AnalyticsQuery
from backend.schema.context import Context, get_context
from backend.schema.context import end as end_context
from backend.schema.datasources import DatasourceMutation
from backend.schema.extensions import is_request_error, schema_extensions
from backend.schema.ingestion import IngestionMutation, IngestionQuery
from backend.schema.live import Subscription as LiveSubscription
from backend.schema.monitoring import MonitoringMutation, MonitoringQuery, PerformanceQuery
from backend.schema.notifications import (
    NotificationMutation,
    NotificationQuery,
    NotificationSubscription,
)
from backend.schema.scalars import SCALARS
from backend.schema.service_settings import ServiceSettingsQuery
from backend.schema.suggestions import hidden_for, without_suggestions
from backend.schema.users import UsersMutation, UsersQuery
from backend.schema.workbooks import WorkbookMutation, WorkbookQuery
from backend.units import format_bytes

log = logging.getLogger(__name__)
Query = merge_types(
    "Query",
    (
        IngestionQuery,
        AnalyticsQuery,
        MonitoringQuery,
        PerformanceQuery,
        UsersQuery,
        WorkbookQuery,
        NotificationQuery,
        ServiceSettingsQuery,
        ActionQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        IngestionMutation,
        MonitoringMutation,
        DatasourceMutation,
        UsersMutation,
        WorkbookMutation,
        NotificationMutation,
        ActionMutation,
    ),
)
Subscription = merge_types("Subscription", (LiveSubscription, NotificationSubscription))


def _name_operation(context: object, name: str | None) -> None:
    """The app's operation, named for the metrics (a made-up name is not counted on its own)."""
    operation = known_operation(name)
    if operation is not None and isinstance(context, Context) and context.request is not None:
        context.request.scope.setdefault("state", {})[OPERATION_STATE] = operation


class Schema(strawberry.Schema):
    introspection = True  # set by build_schema from GRAPHQL_INTROSPECTION

    async def execute(  # noqa: PLR0917 (Strawberry's signature)
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        # Subscriptions run over the websocket (`subscribe`); sent over HTTP, Strawberry would
        # run one as a query and fail on the stream it gets (a 500). Refused with a 400 instead.
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        _name_operation(context_value, operation_name)
        result = await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )
        # A syntax error (or the token limit) ends before the extensions that add codes run.
        for error in result.errors or []:
            if is_request_error(error) and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), **_REQUEST_ERROR}
        return self.scrubbed(result, context_value)

    async def stream(  # noqa: PLR0917 (Strawberry's signature)
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        """Operations on the websocket: each one checked and counted as an HTTP request is
        (backend.schema.socket), their results scrubbed as execute's are."""
        if isinstance(context_value, Context):
            refused = await socket.refusal(context_value)
            if refused is not None:
                return _only(PreExecutionError(data=None, errors=[refused]))
        results = await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types,
        )
        return self._scrubbed_stream(results, context_value)

    async def _scrubbed_stream(self, results: StreamResult, context: object) -> StreamResult:
        async with contextlib.aclosing(results):
            async for result in results:
                yield (
                    self.scrubbed(result, context)
                    if isinstance(result, ExecutionResult)
                    else result
                )

    def get_extensions(self, sync: bool = False) -> list[SchemaExtension]:
        found = super().get_extensions(sync)
        # execute_sync (introspect(), the schema export) runs no websocket operation, and
        # Strawberry refuses async hooks there.
        return [e for e in found if not isinstance(e, socket.SocketSlots)] if sync else found

    def scrubbed(self, result: ExecutionResult, context: object) -> ExecutionResult:
        """The result as this caller may see it: without suggestions when they would reveal
        names (backend.schema.suggestions)."""
        principal = context.principal if isinstance(context, Context) else None
        if result.errors and hidden_for(principal, self.introspection):
            result.errors = without_suggestions(result.errors)
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors and mistakes in the request (syntax, unknown fields, bad variables) are
        # answers to the client, not server faults: one INFO line, without the query text.
        # Only unexpected failures are logged as errors (by Strawberry, with the traceback).
        unexpected = [
            e for e in errors if as_app_error(e.original_error) is None and not is_request_error(e)
        ]
        refused = [e for e in errors if is_request_error(e)]
        if refused:
            log.info("GraphQL request refused: %s", refused[0].message[:200])
        busy = [e for e in errors if isinstance(as_app_error(e.original_error), Busy)]
        if busy:
            log.warning(
                "GraphQL field(s) answered 503: the metadata database is busy or unreachable (%s)",
                type(busy[0].original_error).__name__,
            )
        super().process_errors(unexpected, execution_context)


def build_schema(
    settings: Settings | None = None, slots: asyncio.Semaphore | None = None
) -> strawberry.Schema:
    """`slots`: the GRAPHQL_MAX_CONCURRENT slots shared with the HTTP middleware (main.py)."""
    settings = settings or Settings()
    slots = slots or asyncio.Semaphore(settings.graphql_max_concurrent)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=schema_extensions(settings, slots),
        config=StrawberryConfig(scalar_map=SCALARS),
    )
    schema.introspection = settings.graphql_introspection
    return schema


_REQUEST_ERROR = {
    "code": "BAD_REQUEST",
    "status": 400,
    "detail": "Fix the query as the message says (the schema is in GraphiQL at /graphql).",
}


async def _only(result: PreExecutionError) -> StreamResult:
    yield result


_ACK = cast(UnsetType, UNSET)  # a plain connection_ack


class Router(GraphQLRouter[object, None]):
    websocket_adapter_class = socket.BoundedSocket
    max_body = 1024 * 1024  # GRAPHQL_MAX_BODY_KB: websocket messages, multipart fields

    async def on_ws_connect(self, context: object) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws: the token may come in `connection_init`'s payload
        (`{"Authorization": "Bearer <token>"}` or `{"token": "<token>"}`), since browsers cannot
        set headers on websockets. A token that does not verify closes the socket (4403)."""
        assert isinstance(context, Context)
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        raw = params.get("Authorization") or params.get("authorization") or params.get("token")
        if not isinstance(raw, str) or not raw.strip():
            return _ACK
        token = raw.strip().removeprefix("Bearer ").strip()
        principal = await context.runtime.authenticate(token)
        if principal is None:
            await record_refusal(context.runtime, None, context.http_request, "invalid credentials")
            raise ConnectionRejectionError()
        context.principal = principal
        context.token = token
        return _ACK

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql.page()  # served by this app, not from a CDN

    async def run(  # type: ignore[override]
        self, request: Request | WebSocket, context: object = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        # Strawberry answers the HTTP errors it finds in plain text; ours are JSON in one shape.
        # The request's transaction ends here, before the answer is sent (a websocket's when
        # it closes).
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as exc:
            await end_context(context, failed=True)
            raise for_status(exc.status_code, exc.reason) from exc
        except BaseException:
            await end_context(context, failed=True)
            raise
        await end_context(context, failed=False)
        return response

    def decode_json(self, data: str | bytes) -> object:
        try:
            return super().decode_json(data)
        except UnicodeDecodeError as exc:  # Strawberry only expects JSONDecodeError: a 500
            raise BadRequest("The request body is not UTF-8 JSON", _HOW_TO_POST) from exc
        except RecursionError as exc:  # the body, a multipart's operations, a socket's message
            log.info(
                "a GraphQL request's JSON nested too deeply; refused (400, or 4400 on a socket)"
            )
            raise NestsTooDeeply() from exc

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            await self._check_post(request)
        return await super().parse_http_body(request)

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        form = await request.get_form_data()  # read once: Starlette keeps it for the request
        for field in ("operations", "map"):
            value = form.form.get(field)
            if isinstance(value, str | bytes) and len(value) > self.max_body:
                raise PayloadTooLarge(
                    f"the upload's '{field}' field is larger than the limit of "
                    f"{format_bytes(self.max_body)}",
                    "Send a smaller query or fewer variables (the file goes in its own part), "
                    "or raise GRAPHQL_MAX_BODY_KB on the server.",
                )
        files_map = form.form.get("map", "{}")
        mapped = self.parse_json(files_map) if isinstance(files_map, bytes | str) else files_map
        if not isinstance(mapped, dict) or not all(
            isinstance(paths, list) for paths in mapped.values()
        ):
            raise BadRequest("The multipart map is a JSON object of lists of paths", _HOW_TO_POST)
        if any(len(paths) > 1 for paths in mapped.values()):
            # Each file part is one stream: a second variable would read it already consumed
            # (and the first upload's answer would be lost with the second's error).
            raise BadRequest(
                "A file part is mapped to more than one variable",
                "Map each file part to one variable; to send the same file twice, send it as "
                "two parts.",
            )
        return await super().parse_multipart(request)

    async def _check_post(self, request: AsyncHTTPRequestAdapter) -> None:
        """Refused before Strawberry reads the body: it answers any media type it does not read
        with a 400, JSON that is not an object with a 500 (it calls .get on it), and runs a
        request whose operationName is not a string."""
        media_type, _ = parse_content_type(request.content_type or "")
        if "application/json" in media_type:
            _check_json_request(self.parse_json(await request.get_body()))
        elif not (self.multipart_uploads_enabled and media_type == "multipart/form-data"):
            sent = f"not {media_type}" if media_type else "and this one has no Content-Type"
            raise UnsupportedMediaType(
                f"GraphQL requests are application/json, {sent}", _HOW_TO_POST
            )


def _check_json_request(body: object) -> None:
    if not isinstance(body, dict | list):
        raise BadRequest("A GraphQL request is a JSON object", _HOW_TO_POST)
    # Strawberry checks the types of query, variables and extensions, not operationName's.
    if isinstance(body, dict) and not isinstance(body.get("operationName"), str | None):
        raise BadRequest("The GraphQL request's operationName is a string or null", _HOW_TO_POST)


_HOW_TO_POST = (
    'POST {"query": "...", "variables": {...}} with Content-Type: application/json '
    "(multipart/form-data for uploads)."
)
_GRAPHQL_RESPONSE = {
    "type": "object",
    "properties": {
        "data": {"type": ["object", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
        "extensions": {"type": "object"},
    },
}
_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_QUERY_PARAMETERS = [
    {"name": "query", "in": "query", "schema": {"type": "string", "minLength": 1}},
    {"name": "variables", "in": "query", "content": _JSON_OBJECT},
    {"name": "operationName", "in": "query", "schema": {"type": "string"}},
    {"name": "extensions", "in": "query", "content": _JSON_OBJECT},
]
_REQUEST = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "variables": {"type": ["object", "null"]},
        "operationName": {"type": ["string", "null"]},
        "extensions": {"type": ["object", "null"]},
    },
}
_UPLOAD = {
    "type": "object",
    "required": ["operations", "map"],
    "properties": {
        "operations": {"type": "string", "description": "the JSON request, files as null"},
        "map": {"type": "string", "description": "JSON: form field -> variable paths"},
    },
    "additionalProperties": {"type": "string", "format": "binary"},
}
_OPENAPI: dict[str, dict[str, Any]] = {
    "GET": {
        "summary": "Run a query (GraphiQL without one, for a browser)",
        "parameters": _QUERY_PARAMETERS,
        "responses": {
            "200": {
                "description": "The GraphQL result, or GraphiQL's page",
                "content": {"application/json": {"schema": _GRAPHQL_RESPONSE}, "text/html": {}},
            }
        },
    },
    "POST": {
        "summary": "Run a query or mutation (uploads as GraphQL multipart requests)",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _REQUEST},
                "multipart/form-data": {"schema": _UPLOAD},
            },
        },
        "responses": {
            "200": {
                "description": "The GraphQL result, errors included",
                "content": {"application/json": {"schema": _GRAPHQL_RESPONSE}},
            }
        },
    },
}
_SECURITY: list[dict[str, list[str]]] = [
    {"_DocumentedBearer": []}
]  # FastAPI adds {} (none: AUTH_ANONYMOUS_ROLE)
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not a GraphQL request: the error says why"},
    413: {"description": "The request (or an upload) is larger than its limit"},
    414: {"description": "The query string is longer than GRAPHQL_MAX_BODY_KB"},
    415: {"description": "Not application/json (or multipart/form-data)"},
}


def _document(router: Router) -> None:
    """Strawberry documents its routes as taking nothing and answering 200."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            post = "POST" in (route.methods or set())
            # The bearer token is read by the context (one dependency): declared here instead.
            route.openapi_extra = {
                **_OPENAPI["POST" if post else "GET"],
                "security": [dict(s) for s in _SECURITY],
            }
            route.responses.update(
                {k: v for k, v in _ERRORS.items() if k != 414}
                if post
                else {400: _ERRORS[400], 414: _ERRORS[414]}
            )


def graphql_router(
    settings: Settings, slots: asyncio.Semaphore | None = None
) -> GraphQLRouter[object, None]:
    router = Router(
        build_schema(settings, slots),
        path="/graphql",
        context_getter=get_context,
        multipart_uploads_enabled=True,
        tags=["graphql"],
    )
    router.max_body = settings.graphql_max_body
    _document(router)
    return router

"""Every REST route and GraphQL root field states who may call it, and the service enforces it:
the role matrix is generated from the app's own routes and schema, so a route or field added
later is covered (and fails here) without anyone remembering to add it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLType,
    get_named_type,
)
from graphql.pyutils import Undefined
from starlette.routing import BaseRoute

from backend.auth.roles import Role
from backend.deps import RoleCheck
from backend.main import create_app
from backend.schema import build_schema
from tests.conftest import App, Backend, app_for
from tests.factories import sales_csv

# Open on purpose: probes (say nothing internal), the API docs pages, GraphQL's endpoint (each of
# its fields states a role), and the dataset files Druid fetches (an expiring HMAC signature).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
    ("GET", "/graphql"),
    ("POST", "/graphql"),
    ("GET", "/api/druid/files/{key:path}"),
    # A part of an upload session (local folder): its signed, expiring address authorises it.
    ("PUT", "/api/uploads/{session_id}/parts/{number}"),
    # Signing in (backend/api/auth.py): each route checks the credential it is about itself.
    ("GET", "/api/auth/methods"),
    ("GET", "/api/auth/session"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/link/{token}"),
    ("GET", "/api/auth/oidc/start"),
    ("GET", "/api/auth/oidc/callback"),
    # The React app's static files (backend/api/frontend.py): its data comes from /graphql and /api.
    ("GET", "/"),
    ("GET", "/assets/{name:path}"),
    ("GET", "/{route:path}"),
}
# What the issue asks for by name: these must stay admin-only whatever the code says.
ADMIN_REST = (
    "/api/access-logs",
    "/api/performance/",
    "/metrics",
    "/api/sigma/toggle-mode",
    "/api/raw-user-data",
)
ADMIN_GRAPHQL = {
    "users",
    "accessLogs",
    "dataSources",
    "activeQueries",
    "slowQueries",
    "pipelines",
    "application",
    "setSigmaMode",
}
UPLOADER_GRAPHQL = {
    "uploadSalesData",
    "retryIngestionTask",
    "cancelIngestionTask",
    "reloadIngestionTask",
}
# Writes to the caller's own profile only: every viewer may make them.
OWN_GRAPHQL = {"updateMe"}
# Mutations a viewer makes on what is theirs (backend/workbooks/rules.py: sharing needs an
# uploader, changing one the owner or an admin; tests/workbooks tests them).
VIEWER_MUTATIONS = {
    "createWorkbook",
    "updateWorkbook",
    "deleteWorkbook",
    "restoreWorkbookVersion",
    "favoriteWorkbook",
    "viewWorkbook",
    "copyWorkbook",  # a private copy of one the caller may see
    "importWorkbook",  # a private workbook of the caller's
    "markNotificationsRead",  # one's own notifications (tests/notifications)
    # Actions: a viewer's own alerts and e-mailed reports; imports, webhooks and any url need
    # an uploader, which backend/actions/access.py checks (tests/api/test_actions.py,
    # tests/schema/test_actions.py); another person's action is not found.
    "createAction",
    "updateAction",
    "deleteAction",
    "executeAction",
    "redeliverRun",
    "rotateActionSecret",
}
# Writes a viewer makes to what is theirs: a private workbook (sharing one needs an uploader,
# which backend/workbooks/rules.py checks and tests/workbooks tests), a favorite, a view.
VIEWER_POSTS = {
    "/api/users/me/password",  # one's own password
    "/api/workbooks",
    "/api/workbooks/{workbook_id:workbook_id}/favorite",
    "/api/workbooks/{workbook_id:workbook_id}/view",
    "/api/workbooks/{workbook_id:workbook_id}/versions/{number}/restore",
    "/api/workbooks/{rest:not_workbook}",  # answers 404: no workbook there
    "/api/workbooks/{workbook_id:workbook_id}/copy",  # a private copy, the caller's
    "/api/workbooks/import",  # a private workbook, the caller's
    "/api/notifications/read",  # one's own notifications (tests/notifications)
    # Actions: a viewer's own alerts and reports (the kind's role: backend/actions/access.py)
    "/api/actions",
    "/api/actions/{action_id:hex_id}/execute",
    "/api/actions/{action_id:hex_id}/runs/{run_id}/redeliver",
    "/api/actions/{action_id:hex_id}/rotate-secret",
    "/api/actions/{rest:not_action}",  # answers 404: no action there
    "/api/sigma/actions",
    "/api/sigma/actions/{action_id}/execute",
}
CALLERS: list[Role | None] = [None, Role.VIEWER, Role.UPLOADER, Role.ADMIN]


def endless(route: BaseRoute) -> bool:
    """A route that streams until its client leaves (Server-Sent Events): an ASGI test client
    waits for a whole answer, so a test that reads every route must not read these whole."""
    answers = getattr(route, "responses", None) or {}
    return any("text/event-stream" in (a.get("content") or {}) for a in answers.values())


# Streams that end only when their client leaves, with no path parameter to fill in.
ENDLESS = {"/api/notifications/stream"}


def test_every_endless_stream_is_known_to_the_role_matrix(embedded: Backend) -> None:
    found = {
        route.path
        for route in routes(create_app(embedded.settings, run_workers=False))
        if endless(route) and "{" not in route.path
    }
    assert found == ENDLESS


def routes(app: FastAPI) -> Iterator[BaseRoute]:
    def walk(found: list[BaseRoute]) -> Iterator[BaseRoute]:
        for route in found:
            included = getattr(route, "original_router", None)  # FastAPI's lazily included routers
            if included is not None:
                yield from walk(included.routes)
            else:
                yield route

    yield from walk(list(app.routes))


def route_roles(route: APIRoute) -> list[Role]:
    def walk(dependant: Any) -> Iterator[Role]:
        for sub in dependant.dependencies:
            if isinstance(sub.call, RoleCheck):
                yield sub.call.role
            yield from walk(sub)

    return list(walk(route.dependant))


def protected_routes(backend: Backend) -> list[tuple[str, str, Role]]:
    app = create_app(backend.settings, run_workers=False)
    found = []
    for route in routes(app):
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            roles = route_roles(route)
            if (method, route.path) in PUBLIC:
                assert not roles, f"{method} {route.path} is listed as public but checks a role"
                continue
            assert len(roles) == 1, f"{method} {route.path} states {len(roles)} roles, not one"
            found.append((method, route.path, roles[0]))
    return found


def test_every_route_states_exactly_one_role_or_is_deliberately_public(embedded: Backend) -> None:
    found = protected_routes(embedded)
    assert len(found) >= 18
    for method, path, role in found:
        if path.startswith(ADMIN_REST):
            assert role is Role.ADMIN, f"{method} {path} must be admin-only, it allows {role}"
        if method == "POST" and path not in VIEWER_POSTS:
            assert role.rank >= Role.UPLOADER.rank, f"{method} {path}: a viewer must not write"


def root_fields() -> dict[str, tuple[str, Role]]:
    """GraphQL name -> (operation, role) for every root field."""
    schema = build_schema()
    found: dict[str, tuple[str, Role]] = {}
    for operation in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(operation)
        if definition is None:
            continue
        for field in definition.fields:  # type: ignore[union-attr]
            name = schema.config.name_converter.get_graphql_name(field)
            roles = [getattr(p, "role", None) for p in field.permission_classes]
            assert len(roles) == 1 and isinstance(roles[0], Role), (
                f"{operation}.{name} states no role (permission_classes={field.permission_classes})"
            )
            found[name] = (operation, roles[0])
    return found


def test_every_graphql_root_field_states_its_role() -> None:
    fields = root_fields()
    assert len(fields) >= 30
    for name, (operation, role) in fields.items():
        if name in ADMIN_GRAPHQL:
            assert role is Role.ADMIN, f"{name} must be admin-only, it allows {role}"
        elif name in UPLOADER_GRAPHQL:
            assert role is Role.UPLOADER, name
        elif name in OWN_GRAPHQL:
            assert role is Role.VIEWER, name
        elif operation == "Mutation" and name not in VIEWER_MUTATIONS:
            assert role.rank >= Role.UPLOADER.rank, f"mutation {name}: a viewer must not write"
        else:
            assert role is Role.VIEWER, f"{name}: reads are for viewers ({role})"


def expected(caller: Role | None, needed: Role) -> set[int] | None:
    """The refusal a caller gets, or None when it is let through."""
    if caller is None:
        return {401}
    return None if caller.rank >= needed.rank else {403}


async def client_for(app: App, caller: Role | None) -> httpx.AsyncClient:
    return app.client_as(await app.token(caller) if caller else None)


async def test_the_rest_role_matrix_holds_for_every_route(embedded: Backend) -> None:
    matrix = protected_routes(embedded)
    async with app_for(embedded) as app:
        for caller in CALLERS:
            client = await client_for(app, caller)
            for method, path, needed in matrix:
                url = (
                    path.replace("{task_id}", str(uuid.uuid4()))
                    .replace("{source_id}", "embedded")
                    .replace("{key:path}", "x")
                    .replace("{workbook_id:workbook_id}", "0" * 32)
                    .replace("{number}", "1")
                )
                refusal = expected(caller, needed)
                if path in ENDLESS:
                    try:  # let through, it streams until the client leaves
                        answer = await asyncio.wait_for(client.request(method, url), 2)
                    except TimeoutError:
                        assert refusal is None, f"{caller} was let into {path}"
                        continue
                else:
                    answer = await client.request(method, url)
                who = caller.value if caller else "no token"
                if refusal is None:
                    assert answer.status_code not in (401, 403), (
                        f"{who} refused on {method} {path}: {answer.text[:300]}"
                    )
                    assert answer.status_code < 500, (method, path, answer.text[:300])
                else:
                    assert answer.status_code in refusal, (
                        f"{who} on {method} {path} got {answer.status_code}: {answer.text[:200]}"
                    )
                    body = answer.json()
                    assert body["code"] == ("unauthorized" if caller is None else "forbidden")
                    assert needed.value in body["error"]
                    if caller is None:
                        assert answer.headers["www-authenticate"].startswith("Bearer")


def sample(kind: GraphQLType) -> Any:
    """A value of an input type good enough to reach the permission check."""
    if isinstance(kind, GraphQLNonNull):
        return sample(kind.of_type)
    if isinstance(kind, GraphQLList):
        return [sample(kind.of_type)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {
            name: sample(field.type)
            for name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(kind, GraphQLScalarType)
    return {"Int": 1, "Float": 1.0, "Boolean": False}.get(kind.name, "x")


def selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    return " { __typename }" if isinstance(named, GraphQLObjectType) else ""


def enum_literal(value: Any, kind: GraphQLType) -> str:
    """Enum values written without quotes; the rest as JSON-ish GraphQL literals."""
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if isinstance(inner, GraphQLEnumType):
        return str(value)
    if isinstance(inner, GraphQLList):
        return "[" + ", ".join(enum_literal(v, inner.of_type) for v in value) + "]"
    if isinstance(inner, GraphQLInputObjectType):
        return (
            "{"
            + ", ".join(f"{k}: {enum_literal(v, inner.fields[k].type)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, str):
        return '"' + value + '"'
    return str(value).lower() if isinstance(value, bool) else str(value)


def operation_for(name: str, operation: str) -> str | None:
    schema = build_schema()._schema
    root = schema.query_type if operation == "Query" else schema.mutation_type
    assert root is not None
    field = root.fields[name]
    args = []
    for arg_name, arg in field.args.items():
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined:
            if get_named_type(arg.type).name == "Upload":
                return None  # multipart: tested by hand below
            args.append(f"{arg_name}: {enum_literal(sample(arg.type), arg.type)}")
    arguments = f"({', '.join(args)})" if args else ""
    keyword = "query" if operation == "Query" else "mutation"
    return f"{keyword} {{ {name}{arguments}{selection(field)} }}"


async def test_the_graphql_role_matrix_holds_for_every_root_field(embedded: Backend) -> None:
    fields = root_fields()
    async with app_for(embedded) as app:
        for caller in CALLERS:
            client = await client_for(app, caller)
            for name, (operation, needed) in fields.items():
                if operation == "Subscription":
                    continue  # websocket only: tests/schema/test_subscriptions.py
                document = operation_for(name, operation)
                if document is None:
                    continue
                answer = await client.post("/graphql", json={"query": document})
                assert answer.status_code == 200, (name, answer.text[:300])
                errors = answer.json().get("errors") or []
                codes = {e.get("extensions", {}).get("code") for e in errors}
                assert "BAD_REQUEST" not in codes, (document, errors)
                refusal = expected(caller, needed)
                who = caller.value if caller else "no token"
                if refusal is None:
                    assert not codes & {"UNAUTHORIZED", "FORBIDDEN"}, (who, document, errors)
                else:
                    want = "UNAUTHORIZED" if caller is None else "FORBIDDEN"
                    assert codes == {want}, (who, document, errors)


async def test_a_graphql_upload_needs_the_uploader_role(embedded: Backend) -> None:
    operations = (
        '{"query": "mutation($f: Upload!) { uploadSalesData(file: $f, dataSourceName: \\"sales\\")'
        ' { taskId } }", "variables": {"f": null}}'
    )
    async with app_for(embedded) as app:
        # Refused before the file is read (backend.api.early_auth): an HTTP 401/403 whose body
        # is a GraphQL answer with the field refusals' codes.
        for caller, code in [
            (None, 401),
            (Role.VIEWER, 403),
            (Role.UPLOADER, None),
        ]:
            client = await client_for(app, caller)
            answer = await client.post(
                "/graphql",
                headers={"GraphQL-Preflight": "1"},
                data={"operations": operations, "map": '{"0": ["variables.f"]}'},
                files={"0": ("sales.csv", sales_csv(rows=5), "text/csv")},
            )
            body = answer.json()
            if code is None:
                assert body["data"]["uploadSalesData"]["taskId"], body
            else:
                assert answer.status_code == code, body
                error = body["errors"][0]
                assert "role" in error["message"], body
                assert error["extensions"]["code"] == (
                    "UNAUTHORIZED" if code == 401 else "FORBIDDEN"
                )
                assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_stay_open_and_say_nothing_internal(embedded: Backend, path: str) -> None:
    async with app_for(embedded) as app:
        answer = await app.client_as(None).get(path)
    assert answer.status_code == 200
    text = answer.text
    assert str(embedded.settings.storage_url) not in text
    assert "sqlite" not in text.lower() and "/tmp" not in text


async def test_a_refused_field_after_a_write_in_one_request_neither_waits_nor_fails(
    embedded: Backend,
) -> None:
    """On SQLite a request's write transaction holds the database's write lock: the refusal of a
    later field is audited in that same transaction, not a second one waiting for the lock."""
    async with app_for(embedded) as app:
        assert app.runtime.workers is not None
        await app.runtime.workers.stop()  # the task stays queued: the cancel is a write that works
        uploader = app.client_as(await app.token(Role.UPLOADER, "mixer"))
        upload = await uploader.post(
            "/api/ingest/upload",
            data={"datasource_name": "other"},
            files={"file": ("bad.csv", b"a,b\n1,2\n1,2,3\n", "text/csv")},
        )
        task = upload.json()["task_id"]
        query = (
            "mutation($id: ID!) { cancelIngestionTask(taskId: $id) { status } "
            "setSigmaMode(mode: WAREHOUSE) { mode } }"
        )
        started = asyncio.get_running_loop().time()
        answer = await uploader.post("/graphql", json={"query": query, "variables": {"id": task}})
        took = asyncio.get_running_loop().time() - started
        errors = answer.json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], errors
        assert took < 10, f"the refusal waited {took:.1f}s for the request's own lock"
        log = (await app.client.get("/api/access-logs", params={"action": "denied"})).json()
        assert any("mixer" in e["actor"] for e in log["data"]["items"]), log


async def test_reads_beside_each_other_in_one_query_do_not_wait_for_locks(
    embedded: Backend,
) -> None:
    query = (
        "{ ingestionTasks { status } accessLogs { total } health { status } "
        "sigmaStatus { mode } sigmaCapabilities { name } pipelines { runs } }"
    )
    async with app_for(embedded) as app:
        started = asyncio.get_running_loop().time()
        answer = await app.client.post("/graphql", json={"query": query})
        took = asyncio.get_running_loop().time() - started
    assert "errors" not in answer.json(), answer.text[:1000]
    assert took < 10, f"{took:.1f}s: a read waited for another session's write lock"

"""With introspection off, and for callers without a token, error messages suggest no names
("Did you mean 'accessLogs'?" revealed the schema piece by piece; found by a hostile review)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.auth.roles import Role
from backend.main import create_app
from tests.conftest import Backend, app_for
from tests.schema.test_subscriptions import PROTOCOL, token

FILTERED = "query($f: SalesFilter) { salesSummary(filter: $f) { totalSales } }"
# Each names something close to a real name: a field, an argument, a type, an enum value (in
# the document and in a variable), an input field, a type condition.
MISTAKES: list[tuple[str, dict[str, Any] | None, str]] = [
    ("{ accessLog { id } }", None, "accessLogs"),
    ("{ ingestionTasks(limt: 5) { taskId } }", None, "limit"),
    ("query($f: SalesFiltr) { salesSummary(filter: $f) { totalSales } }", None, "SalesFilter"),
    ("mutation { setSigmaMode(mode: STANDALON) { mode } }", None, "STANDALONE"),
    (
        "mutation($m: SigmaMode!) { setSigmaMode(mode: $m) { mode } }",
        {"m": "STANDALON"},
        "STANDALONE",
    ),
    (FILTERED, {"f": {"brnches": ["A"]}}, "branches"),
    ("{ health { ... on HealthChek { status } } }", None, "HealthCheck"),
]


def configured(backend: Backend, **settings: Any) -> Backend:
    return dataclasses.replace(backend, settings=backend.settings.model_copy(update=settings))


async def messages(backend: Backend, *, anonymous: bool = False) -> list[str]:
    found = []
    async with app_for(backend) as app:
        client = app.client_as(None) if anonymous else app.client
        for query, variables, _ in MISTAKES:
            answer = await client.post("/graphql", json={"query": query, "variables": variables})
            found.append(" ".join(e["message"] for e in answer.json()["errors"]))
    return found


async def test_mistakes_get_suggestions_from_a_token_when_introspection_is_on(
    embedded: Backend,
) -> None:
    found = await messages(embedded)
    for (_, _, name), message in zip(MISTAKES, found, strict=True):
        assert "Did you mean" in message and name in message, message


@pytest.mark.parametrize("anonymous", [False, True])
async def test_no_names_are_suggested_with_introspection_off(
    embedded: Backend, anonymous: bool
) -> None:
    closed = configured(embedded, graphql_introspection=False, auth_anonymous_role="viewer")
    found = await messages(closed, anonymous=anonymous)
    for (_, _, name), message in zip(MISTAKES, found, strict=True):
        assert "Did you mean" not in message and f"'{name}'" not in message, message
        assert message.strip(), "the mistake itself is still named"


async def test_no_names_are_suggested_to_anonymous_callers(embedded: Backend) -> None:
    found = await messages(configured(embedded, auth_anonymous_role="viewer"), anonymous=True)
    assert not [m for m in found if "Did you mean" in m], found


def test_no_names_are_suggested_over_the_websocket(embedded: Backend) -> None:
    closed = configured(embedded, graphql_introspection=False)
    with TestClient(create_app(closed.settings, run_workers=False)) as client:
        viewer = token(client, Role.VIEWER)
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            ws.send_json({"type": "connection_init", "payload": {"token": viewer}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ accessLog { id } }"}}
            )
            message = ws.receive_json()
    assert "accessLog" in str(message) and "Did you mean" not in str(message), message

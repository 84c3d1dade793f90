"""Every operation on the GraphQL websocket answers to the limits of an HTTP request: the rate
limit, the concurrency slots and the token check (found by a hostile review: 300 queries in
0.8 s where HTTP gave 429 after 30, and a revoked token kept running queries on its socket)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from backend.auth import service as auth_service
from backend.auth.roles import Role
from backend.db import session_scope
from backend.main import create_app
from tests.conftest import Backend
from tests.schema.test_subscriptions import PROTOCOL, short_lived_viewer, token

QUERY = "{ datasources { name } }"


def configured(backend: Backend, **settings: Any) -> Backend:
    return dataclasses.replace(backend, settings=backend.settings.model_copy(update=settings))


def connect(ws: WebSocketTestSession, bearer: str) -> None:
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}})
    assert ws.receive_json()["type"] == "connection_ack"


def ask(ws: WebSocketTestSession, op: str, query: str = QUERY) -> dict[str, Any]:
    """Runs one query; its data, or its first error."""
    ws.send_json({"id": op, "type": "subscribe", "payload": {"query": query}})
    message = ws.receive_json()
    assert message["id"] == op, message
    if message["type"] == "error":
        return {"error": message["payload"][0]}
    payload = message["payload"]
    assert ws.receive_json() == {"id": op, "type": "complete"}
    return {"error": payload["errors"][0]} if payload.get("errors") else payload


def test_queries_on_a_socket_count_against_the_rate_limit(embedded: Backend) -> None:
    with TestClient(create_app(configured(embedded, rate_limit_per_minute=30).settings)) as client:
        viewer = token(client, Role.VIEWER)
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            connect(ws, viewer)
            answers = [ask(ws, str(n)) for n in range(40)]
    refused = [a["error"] for a in answers if "error" in a]
    assert 25 <= 40 - len(refused) <= 30, answers  # the upgrade counted too
    assert refused[0]["extensions"]["code"] == "TOO_MANY_REQUESTS", refused[0]
    assert refused[0]["extensions"]["retryAfter"] >= 1


def test_queries_on_a_socket_wait_for_a_concurrency_slot(embedded: Backend) -> None:
    with TestClient(create_app(embedded.settings)) as client:
        viewer = token(client, Role.VIEWER)
        slots: asyncio.Semaphore = client.app.state.graphql_slots  # type: ignore[attr-defined]
        assert client.portal is not None
        taken = 0
        while not slots.locked():  # every slot busy, as with that many HTTP queries running
            client.portal.call(slots.acquire)
            taken += 1
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            connect(ws, viewer)
            released_at: list[float] = []

            def release_later() -> None:
                time.sleep(1.5)
                released_at.append(time.monotonic())
                assert client.portal is not None
                client.portal.call(slots.release)

            threading.Thread(target=release_later).start()
            answer = ask(ws, "1")
            answered_at = time.monotonic()
        for _ in range(taken - 1):
            client.portal.call(slots.release)
    assert isinstance(answer["data"]["datasources"], list), answer
    assert released_at and answered_at >= released_at[0], "answered while every slot was busy"


def test_a_revoked_or_expired_token_ends_the_next_query_on_its_socket(embedded: Backend) -> None:
    with TestClient(create_app(embedded.settings)) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert client.portal is not None
        viewer = token(client, Role.VIEWER)
        short = client.portal.call(short_lived_viewer, runtime)
        with (
            client.websocket_connect("/graphql", subprotocols=PROTOCOL) as revoked_ws,
            client.websocket_connect("/graphql", subprotocols=PROTOCOL) as expired_ws,
        ):
            connect(revoked_ws, viewer)
            connect(expired_ws, short)
            assert "data" in ask(revoked_ws, "1")
            assert "data" in ask(expired_ws, "1")
            client.portal.call(revoke_all_viewers, runtime)
            # A process remembers a verified token for 30 s (documented): as if they had passed.
            runtime.token_cache._entries.clear()
            time.sleep(2.5)  # the short-lived token has expired
            for ws in (revoked_ws, expired_ws):
                error = ask(ws, "2")["error"]
                assert error["extensions"]["code"] == "UNAUTHORIZED", error
                assert "no longer valid" in error["message"]


async def revoke_all_viewers(runtime: Any) -> None:
    async with session_scope(runtime.sessions) as session:
        for found in await auth_service.listed(session):
            if found.role == Role.VIEWER.value and found.name != "short-lived":
                await auth_service.revoke(session, found.id)

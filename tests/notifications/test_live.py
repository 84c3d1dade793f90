"""New notifications live: over Server-Sent Events (a real uvicorn in the test's event loop, on
the embedded default and on PostgreSQL, where a trigger's NOTIFY wakes the stream) and over the
GraphQL subscription on the websocket; a stream ends when its token is revoked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.roles import Role
from backend.db import session_scope
from backend.main import create_app
from backend.notifications import live, service
from backend.notifications.models import NotificationKind
from backend.runtime import Runtime
from tests.conftest import Backend, app_for, make_backend, make_token
from tests.druid.fixtures import served
from tests.services import free_port


async def notify(runtime: Runtime, name: str, title: str) -> None:
    async with session_scope(runtime.sessions) as session:
        await service.add(session, User.name == name, NotificationKind.WORKBOOK_CHANGED, title)


async def next_event(lines: Any) -> dict[str, Any]:
    """The data of the next `event: notification` of an SSE line iterator."""
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "notification":
            found: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return found
    raise AssertionError("the stream ended without a notification")


async def test_the_sse_stream_delivers_a_notification_made_after_it_opened(
    backend: Backend,
) -> None:
    application = create_app(backend.settings)
    async with served(application, free_port()) as url:
        runtime: Runtime = application.state.runtime
        await notify(runtime, "ana", "Before: not sent.")  # no user ana yet: nobody gets it
        token = await make_token(runtime, Role.VIEWER, "ana")
        await notify(runtime, "ana", "An old one: not sent again.")
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client,
            client.stream("GET", "/api/notifications/stream") as answer,
        ):
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            lines = answer.aiter_lines()
            assert await anext(lines) == ": connected"
            await notify(runtime, "ana", "Ben changed the workbook “Q1 review”.")
            item = await asyncio.wait_for(next_event(lines), 10)
            assert item["title"] == "Ben changed the workbook “Q1 review”."
            assert item["kind"] == "workbook_changed" and item["read_at"] is None
            # revoked: the stream ends at its next message
            async with session_scope(runtime.sessions) as session:
                await auth_service.revoke(session, "ana")
            runtime.token_cache = auth_service.TokenCache()  # as after its 30 s
            await notify(runtime, "ana", "After the revocation: not sent.")
            rest = [line async for line in lines]
            assert not any("not sent" in line for line in rest), rest


SUBSCRIBE = "subscription { notifications { id kind title body link createdAt readAt } }"


def test_the_graphql_subscription_delivers_a_new_notification(embedded: Backend) -> None:
    with TestClient(create_app(embedded.settings)) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert client.portal is not None
        token = client.portal.call(make_token, runtime, Role.VIEWER, "ana")
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            )
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            client.portal.call(asyncio.sleep, 0.5)  # the subscription has started
            client.portal.call(notify, runtime, "ana", "Ana shared the workbook “Q1” with you.")
            message = ws.receive_json()
            assert message["type"] == "next", message
            item = message["payload"]["data"]["notifications"]
            assert item["title"] == "Ana shared the workbook “Q1” with you."
            assert item["kind"] == "workbook_changed" and item["readAt"] is None
            ws.send_json({"id": "1", "type": "complete"})


async def test_postgres_announces_a_new_notification(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The trigger's NOTIFY wakes a waiting stream of that user without waiting for its poll."""
    backend = await make_backend("postgres_s3", request, tmp_path)
    async with app_for(backend) as app:
        for _ in range(100):
            if app.runtime.wakeups.listening:
                break
            await asyncio.sleep(0.05)
        assert app.runtime.wakeups.listening, "no LISTEN connection on PostgreSQL"
        async with session_scope(app.runtime.sessions) as session:
            user = (
                await session.execute(select(User.id).where(User.name == "test-admin"))
            ).scalar_one()
        with app.runtime.wakeups.watching(live.key(user)) as news:
            await notify(app.runtime, "test-admin", "A note.")
            # while listening, a stream reads only every 5 s: this is the NOTIFY
            await asyncio.wait_for(news.wait(), 4)

"""The session cookie on long-lived connections, against a real uvicorn (served in this process,
so the test can move the token cache's clock): the GraphQL websocket takes the cookie only from
this site's pages; a task's SSE stream and a subscription end once the session is signed out
everywhere (in another process: within the cache's 30 seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from backend.api import ingest
from backend.auth.roles import Role
from backend.auth.service import TokenCache
from backend.main import create_app
from backend.runtime import Runtime
from backend.schema import live as schema_live
from backend.tasks import live
from bench.harness import free_port
from tests.auth.test_sign_in import PASSWORD, make_person
from tests.conftest import Backend, make_token
from tests.factories import sales_csv

PROTOCOL = "graphql-transport-ws"
ME = "query { me { name } }"
TASKS = "subscription { ingestionTasksUpdates { taskId status } }"


@dataclass
class Served:
    url: str
    runtime: Runtime

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)

    def move_clock(self) -> None:
        """The token cache's entries are now older than its 30 seconds."""
        cache = self.runtime.token_cache
        later = cache.clock() + TokenCache.CACHE_SECONDS + 1
        cache.clock = lambda: later


@contextlib.asynccontextmanager
async def served(backend: Backend) -> AsyncIterator[Served]:
    """uvicorn serving the app (no workers: a task stays queued) on a free port."""
    application = create_app(backend.settings, run_workers=False)
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not running.done(), "uvicorn stopped while starting"
            await asyncio.sleep(0.05)
        yield Served(f"http://127.0.0.1:{port}", application.state.runtime)
    finally:
        server.should_exit = True
        await running


async def sign_in(server: Served, name: str, role: Role = Role.VIEWER) -> tuple[str, str]:
    """A person signed in: their session cookie and CSRF token."""
    await make_person(server.runtime, name, role)
    async with server.client() as client:
        answer = await client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.cookies["sales_session"], answer.json()["csrf_token"]


async def sign_out_everywhere(server: Served, cookie: str, csrf: str) -> None:
    async with server.client() as client:
        client.cookies.set("sales_session", cookie)
        answer = await client.post(
            "/api/auth/logout", params={"everywhere": "true"}, headers={"X-CSRF-Token": csrf}
        )
    assert answer.status_code == 204, answer.text


@contextlib.asynccontextmanager
async def socket(
    server: Served, cookie: str, origin: str | None
) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws connection sending the cookie (and `origin`), acknowledged."""
    address = server.url.replace("http://", "ws://") + "/graphql"
    async with connect(
        address,
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sales_session={cookie}"},
        open_timeout=30,
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await receive(ws))["type"] == "connection_ack"
        yield ws


async def receive(ws: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def ask(ws: ClientConnection, query: str, op: str = "1") -> dict[str, Any]:
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": {"query": query}}))
    return await receive(ws)


def errors_of(message: dict[str, Any]) -> str:
    payload = message["payload"]
    return str(payload.get("errors") if isinstance(payload, dict) else payload)


async def test_the_websocket_takes_the_cookie_only_from_this_sites_pages(
    backend: Backend,
) -> None:
    async with served(backend) as server:
        cookie, _ = await sign_in(server, "wes")
        async with socket(server, cookie, origin=server.url) as ws:
            answer = await ask(ws, ME)
            assert answer["type"] == "next", answer
            assert answer["payload"].get("data") == {"me": {"name": "wes"}}, answer
        # Another site's page: the handshake itself is refused (Strawberry checks the Origin).
        with pytest.raises(InvalidStatus) as refused:
            async with socket(server, cookie, origin="https://elsewhere.example"):
                pass
        assert refused.value.response.status_code == 403
        # No Origin at all (not a browser's page): the cookie is not read, the caller is
        # anonymous, who has no role by default.
        async with socket(server, cookie, origin=None) as ws:
            anonymous = await ask(ws, ME)
            assert "needs you to sign in (with the viewer role)" in errors_of(anonymous), anonymous


@pytest.fixture
def quick_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Task streams say they are alive every half second rather than every 15."""
    quick = functools.partial(live.updates, keepalive=0.5)
    monkeypatch.setattr(ingest.live, "updates", quick)
    monkeypatch.setattr(schema_live.live, "updates", quick)


async def upload_queued(server: Served, seed: int = 0) -> str:
    token = await make_token(server.runtime, Role.ADMIN)
    async with server.client() as client:
        accepted = await client.post(
            "/api/ingest/upload",
            headers={"Authorization": f"Bearer {token}"},
            data={"datasource_name": "sales"},
            files={"file": ("s.csv", sales_csv(rows=5, seed=seed), "text/csv")},
        )
    assert accepted.status_code == 202, accepted.text
    return str(accepted.json()["task_id"])


async def test_a_task_stream_ends_once_its_session_is_signed_out_elsewhere(
    backend: Backend, quick_keepalive: None
) -> None:
    async with served(backend) as server, served(backend) as other:
        cookie, csrf = await sign_in(server, "sue")
        task_id = await upload_queued(server)
        async with (
            server.client() as client,
            client.stream(
                "GET",
                f"/api/ingest/tasks/{task_id}/events",
                headers={"Cookie": f"sales_session={cookie}"},
            ) as stream,
        ):
            assert stream.status_code == 200
            chunks = stream.aiter_text()
            assert "event: event" in await anext(chunks)  # the task's "queued"
            await sign_out_everywhere(other, cookie, csrf)
            # This process still trusts its cached session for up to 30 seconds...
            assert "keep-alive" in await asyncio.wait_for(anext(chunks), 10)
            server.move_clock()
            # ...then the stream ends.
            rest = [c async for c in _until_end(chunks)]
            assert all("data:" not in c for c in rest), rest


async def _until_end(chunks: AsyncIterator[str]) -> AsyncIterator[str]:
    async with asyncio.timeout(10):
        async for chunk in chunks:
            yield chunk


async def test_a_subscription_ends_once_its_session_is_signed_out_elsewhere(
    backend: Backend,
) -> None:
    async with served(backend) as server, served(backend) as other:
        cookie, csrf = await sign_in(server, "sid")
        async with socket(server, cookie, origin=server.url) as ws:
            await ws.send(json.dumps({"id": "t", "type": "subscribe", "payload": {"query": TASKS}}))
            await asyncio.sleep(1)  # the protocol does not acknowledge a subscribe
            first = await upload_queued(other)
            seen = await receive(ws)
            assert seen["payload"]["data"]["ingestionTasksUpdates"]["taskId"] == first, seen
            await sign_out_everywhere(other, cookie, csrf)
            server.move_clock()
            secret = await upload_queued(other, seed=1)
            ended = await receive(ws)
            assert secret not in str(ended)
            assert "no longer valid" in errors_of(ended), ended


async def test_a_task_subscription_ends_once_its_session_is_signed_out_even_while_quiet(
    backend: Backend, quick_keepalive: None
) -> None:
    """A queued task changes nothing for a while: its subscription is checked on its quiet
    ticks too, not only when the task next changes."""
    async with served(backend) as server, served(backend) as other:
        cookie, csrf = await sign_in(server, "sal")
        task_id = await upload_queued(server)
        query = f'subscription {{ ingestionTaskUpdates(taskId: "{task_id}") {{ status }} }}'
        async with socket(server, cookie, origin=server.url) as ws:
            await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": query}}))
            first = await receive(ws)
            assert first["payload"]["data"]["ingestionTaskUpdates"]["status"] == "QUEUED", first
            await sign_out_everywhere(other, cookie, csrf)
            server.move_clock()
            ended = await receive(ws, timeout=10)
            assert "no longer valid" in errors_of(ended), ended

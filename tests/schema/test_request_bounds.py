"""A GraphQL request is bounded before anything parses it (GRAPHQL_MAX_BODY_KB: its body, query
string, multipart fields and websocket messages), cached documents are bounded in size, and a
request takes a concurrency slot only once its body is in. Found by a hostile review: a 10 MB
anonymous query was parsed (4.5 s), caches kept 25 MB queries, and four connections trickling a
body held every GRAPHQL_MAX_CONCURRENT slot."""

from __future__ import annotations

import dataclasses
import gc
import http.client
import json
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backend.auth.roles import Role
from backend.main import create_app
from tests.conftest import Backend, app_for
from tests.e2e.processes import process_env, uvicorn_server
from tests.schema.test_subscriptions import PROTOCOL, token
from tests.services import free_port

MB = 1024 * 1024


def configured(backend: Backend, **settings: Any) -> Backend:
    return dataclasses.replace(backend, settings=backend.settings.model_copy(update=settings))


def padded(size: int, n: int) -> str:
    """A valid query of about `size` characters, distinct for each n (a comment pads it)."""
    head = f"{{ __typename }} # {n} "
    return head + "x" * (size - len(head))


def rss_of_server(port: int) -> int:
    """The resident memory of the uvicorn process serving `port`, in bytes."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"--port\0{port}\0".encode() not in cmdline.read_bytes():
                continue
            status = (cmdline.parent / "status").read_text()
        except OSError:
            continue
        line = next(ln for ln in status.splitlines() if ln.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024
    raise AssertionError(f"no server on port {port}")


def refused(answer: httpx.Response, status: int = 413) -> None:
    assert answer.status_code == status, answer.text[:300]
    body = answer.json()
    assert "GRAPHQL_MAX_BODY_KB" in body["detail"], body


def test_huge_anonymous_requests_are_refused_unread(embedded: Backend, tmp_path: Path) -> None:
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none")
    port = free_port()
    with (
        uvicorn_server(env, tmp_path / "server.log", port) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200
        before = rss_of_server(port)
        began = time.monotonic()
        for n in range(12):  # distinct: no cache could answer them
            refused(client.post("/graphql", json={"query": padded(10 * MB, n)}))
        took = time.monotonic() - began
        growth = rss_of_server(port) - before

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
            yield b'{"query": "{ __typename }", "variables": {"v": "'
            for _ in range(5):
                yield b"x" * MB
            yield b'"}}'

        chunked = client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        refused(chunked)  # 5 MB of variables
        variables = {"query": "{ __typename }", "variables": {"v": "x" * (5 * MB)}}
        refused(client.post("/graphql", json=variables))
        long_get = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        long_get.request("GET", "/graphql?query=" + quote(padded(2 * MB, 0)))
        # uvicorn refuses a request line this long itself (400); ours is 414 (below)
        assert long_get.getresponse().status in (400, 414)
        long_get.close()
        assert client.get("/healthz").status_code == 200
    assert growth < 40 * MB, f"the server grew {growth // MB} MB"
    assert took < 20, f"12 refusals took {took:.1f} s"


async def test_cached_documents_stay_small(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        await app.client.post("/graphql", json={"query": "{ __typename }"})
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for n in range(5):  # distinct queries just under the 1 MB limit
                answer = await app.client.post("/graphql", json={"query": padded(MB - 200, n)})
                assert answer.json() == {"data": {"__typename": "Query"}}
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert kept < 2 * MB, f"{kept // MB} MB kept after 5 queries of 1 MB"


async def test_query_strings_and_multipart_fields_have_the_graphql_bound(
    embedded: Backend,
) -> None:
    async with app_for(configured(embedded, graphql_max_body_kb=32)) as app:
        refused(await app.client.get("/graphql", params={"query": padded(40_000, 0)}), 414)
        fits = await app.client.get("/graphql", params={"query": padded(30_000, 0)})
        assert fits.json() == {"data": {"__typename": "Query"}}
        operations = {
            "query": "mutation($file: Upload!) { uploadSalesData(file: $file, "
            'dataSourceName: "sales") { taskId } }',
            "variables": {"file": None, "pad": "x" * 100_000},
        }
        answer = await app.client.post(
            "/graphql",
            headers={"GraphQL-Preflight": "1"},
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": ("s.csv", b"a,b\n1,2\n", "text/csv")},
        )
    assert answer.status_code == 413, answer.text
    assert "operations" in answer.json()["error"] and "GRAPHQL_MAX_BODY_KB" in answer.text


def test_websocket_messages_have_the_graphql_bound(embedded: Backend) -> None:
    small = configured(embedded, graphql_max_body_kb=64)
    with TestClient(create_app(small.settings, run_workers=False)) as client:
        viewer = token(client, Role.VIEWER)
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            ws.send_json({"type": "connection_init", "payload": {"token": viewer}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": padded(100_000, 0)}})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
    assert closed.value.code == 1009 and "GRAPHQL_MAX_BODY_KB" in closed.value.reason


def trickle(port: int, content_type: str) -> socket.socket:
    """A POST /graphql that sends its headers and a few bytes of its body, then waits."""
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(
        (
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
            f"Content-Type: {content_type}\r\nGraphQL-Preflight: 1\r\n\r\n"
        ).encode()
        + b'{"query": "'
    )
    return connection


def test_trickling_bodies_hold_no_graphql_slot(embedded: Backend, tmp_path: Path) -> None:
    env = process_env(embedded.env, GRAPHQL_MAX_CONCURRENT="2")
    port = free_port()
    with uvicorn_server(env, tmp_path / "server.log", port) as url:
        slow = [trickle(port, "application/json") for _ in range(4)]
        slow += [trickle(port, "multipart/form-data; boundary=b") for _ in range(2)]
        try:
            time.sleep(0.5)  # their headers are in: each has its request running
            began = time.monotonic()
            answer = httpx.post(
                f"{url}/graphql", json={"query": "{ datasources { name } }"}, timeout=15
            )
            took = time.monotonic() - began
        finally:
            for connection in slow:
                connection.close()
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    assert took < 5, f"a dashboard query waited {took:.1f} s behind trickling bodies"

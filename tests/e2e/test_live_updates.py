"""Live updates when the worker is another process: an SSE client connected to the API before
any worker exists receives every event of the upload, in order, as a separate worker process
runs it (PostgreSQL: LISTEN/NOTIFY; SQLite: polling)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_ingest import upload, wait_for_task
from tests.api.test_task_events import parse_sse
from tests.conftest import Backend, app_for, make_backend
from tests.e2e.processes import ROOT, process_env, start_worker, uvicorn_server, wait_for_status

pytestmark = pytest.mark.slow


def read_stream(url: str, task_id: str, into: list[dict[str, Any]]) -> None:
    buffer = ""
    with httpx.stream("GET", f"{url}/api/ingest/tasks/{task_id}/events", timeout=120) as answer:
        assert answer.status_code == 200
        for text in answer.iter_text():
            buffer += text
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                into.extend(parse_sse(block + "\n\n"))


def test_an_sse_client_sees_every_event_from_a_separate_worker(
    backend: Backend, tmp_path: Path
) -> None:
    api_env = process_env(backend.env, WORKER_CONCURRENCY="0")
    worker_env = process_env(backend.env, WORKER_CONCURRENCY="1")
    with uvicorn_server(api_env, tmp_path / "server.log") as url:
        with (ROOT / "data.csv").open("rb") as handle:
            accepted = httpx.post(
                f"{url}/api/ingest/upload",
                files={"file": ("data.csv", handle, "text/csv")},
                data={"datasource_name": "sales"},
                timeout=60,
            ).json()
        task_id = accepted["task_id"]
        messages: list[dict[str, Any]] = []
        reader = threading.Thread(target=read_stream, args=(url, task_id, messages))
        reader.start()
        worker = start_worker(worker_env, tmp_path / "worker.log")
        try:
            task = wait_for_status(url, task_id, {"succeeded", "failed"})
            reader.join(timeout=60)
            assert not reader.is_alive(), "the stream did not end after the final event"
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    events = [m for m in messages if m["kind"] == "event"]
    expected = task["events"]
    assert isinstance(expected, list)
    assert [(m["event"]["status"], m["event"]["message"]) for m in events] == [
        (e["status"], e["message"]) for e in expected
    ], json.dumps(messages)[:2000]
    assert messages[-1]["final"] and messages[-1]["status"] == "succeeded"
    assert messages[-1]["rows_valid"] == 1000


async def test_postgres_notifies_streams_of_task_changes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """LISTEN/NOTIFY (triggers on the task and event tables) wakes a waiting stream without
    waiting for its poll."""
    backend = await make_backend("postgres_s3", request, tmp_path)
    async with app_for(backend) as app:
        runtime = app.runtime
        for _ in range(100):
            if runtime.wakeups.listening:
                break
            await asyncio.sleep(0.05)
        assert runtime.wakeups.listening, "no LISTEN connection on PostgreSQL"
        accepted = await upload(app.client, content=b"Invoice ID,Branch\nnope,Z\n")
        task_id = accepted.json()["task_id"]
        assert (await wait_for_task(app.client, task_id))["status"] == "failed"
        with runtime.wakeups.watching(task_id) as news:
            retried = await app.client.post(f"/api/ingest/tasks/{task_id}/retry")
            assert retried.status_code == 202, retried.text
            # while listening, a stream polls only every 5 s: this is the notification
            await asyncio.wait_for(news.wait(), 4)


SUBSCRIPTION = """subscription($id: ID!) { ingestionTaskUpdates(taskId: $id) {
    id kind status progress rowsRead rowsValid rowsRejected final event { status message } } }"""


def read_subscription(url: str, task_id: str, into: list[dict[str, Any]]) -> None:
    """A graphql-transport-ws client: connection_init, subscribe, every `next` until `complete`."""
    from websockets.sync.client import connect

    address = url.replace("http://", "ws://") + "/graphql"
    with connect(address, subprotocols=["graphql-transport-ws"], open_timeout=30) as socket:
        socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(socket.recv(timeout=30))["type"] == "connection_ack"
        socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": task_id}},
                }
            )
        )
        while True:
            message = json.loads(socket.recv(timeout=300))
            if message["type"] == "complete":
                return
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            into.append(message["payload"]["data"]["ingestionTaskUpdates"])


async def test_a_million_row_upload_streams_every_event_to_sse_and_subscription_clients(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """PostgreSQL + S3, the worker a separate process, 1M rows: both kinds of client receive
    every recorded event in order and the rows read so far as the reader reads them."""
    from bench.generate_sales import write_csv

    backend = await make_backend("postgres_s3", request, tmp_path)
    rows = 1_000_000
    big = tmp_path / "million.csv"
    await asyncio.to_thread(write_csv, big, rows, 31)
    api_env = process_env(backend.env, WORKER_CONCURRENCY="0")
    worker_env = process_env(backend.env, WORKER_CONCURRENCY="1")
    with uvicorn_server(api_env, tmp_path / "server.log") as url:
        with big.open("rb") as handle:
            accepted = httpx.post(
                f"{url}/api/ingest/upload",
                files={"file": ("million.csv", handle, "text/csv")},
                data={"datasource_name": "sales"},
                timeout=300,
            ).json()
        task_id = accepted["task_id"]
        sse: list[dict[str, Any]] = []
        graphql: list[dict[str, Any]] = []
        readers = [
            threading.Thread(target=read_stream, args=(url, task_id, sse)),
            threading.Thread(target=read_subscription, args=(url, task_id, graphql)),
        ]
        for reader in readers:
            reader.start()
        await asyncio.sleep(1)  # both connected before any worker exists
        worker = start_worker(worker_env, tmp_path / "worker.log")
        try:
            task = await asyncio.to_thread(
                wait_for_status, url, task_id, {"succeeded", "failed"}, 600
            )
            for reader in readers:
                await asyncio.to_thread(reader.join, 120)
                assert not reader.is_alive(), "a stream did not end after the final update"
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert task["status"] == "succeeded", task
    expected = [(e["status"], e["message"]) for e in task["events"]]
    assert [(m["event"]["status"], m["event"]["message"]) for m in sse if m["kind"] == "event"] == (
        expected
    )
    assert [
        (m["event"]["status"].lower(), m["event"]["message"])
        for m in graphql
        if m["kind"] == "event"
    ] == (expected)
    for updates, rows_key in ((sse, "rows_read"), (graphql, "rowsRead")):
        read = [m[rows_key] for m in updates if m[rows_key] is not None]
        assert read == sorted(read), read  # never backwards
        assert any(0 < r < rows for r in read), read  # ticks while the reader reads
        # GraphQL gives the status as the TaskStatus enum's name (SUCCEEDED), SSE as its value
        assert updates[-1]["final"] and updates[-1]["status"].lower() == "succeeded"
        assert read[-1] == rows

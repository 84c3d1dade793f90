"""JSON nested past what the decoder recurses into is a clear 400 at every GraphQL door (a JSON
body, its query, a multipart upload's operations) and closes the websocket with 4400, logged in
one line without a traceback. Found by a hostile probe after issue 22: an anonymous 200 kB body
answered 500 with an 80-line RecursionError in the log, and the socket dropped without a close
frame ("Exception in ASGI application")."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from backend.main import create_app
from tests.conftest import App, Backend
from tests.schema.test_subscriptions import PROTOCOL

DEEP = "[" * 100_000 + "]" * 100_000


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """One INFO line says it; nothing logs a traceback or an error."""
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    ]
    said = [r for r in caplog.records if "nested too deeply" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO, said


@pytest.mark.parametrize(
    "body",
    [
        '{"query": "{ __typename }", "variables": {"a": ' + DEEP + "}}",
        '{"query": ' + DEEP + "}",
        DEEP,
    ],
    ids=["variables", "query", "whole"],
)
async def test_a_deeply_nested_body_is_a_400(
    app: App, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    del app.client.headers["Authorization"]  # anonymously
    answer = await app.client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text[:300]
    assert "nests too deeply" in answer.text
    no_traceback(caplog)


async def test_a_deeply_nested_upload_is_a_400(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    answer = await app.client.post(
        "/graphql",
        headers={"GraphQL-Preflight": "1"},
        data={
            "operations": '{"query": "{ __typename }", "variables": {"a": ' + DEEP + "}}",
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("s.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert answer.status_code == 400, answer.text[:300]
    assert "nests too deeply" in answer.text
    no_traceback(caplog)


def test_a_deeply_nested_websocket_message_closes_it_with_4400(
    embedded: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(create_app(embedded.settings, run_workers=False)) as client:
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            ws.send_json({"type": "connection_init"})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_text('{"id": "1", "type": "subscribe", "payload": ' + DEEP + "}")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
    assert closed.value.code == 4400 and "nests too deeply" in closed.value.reason
    no_traceback(caplog)

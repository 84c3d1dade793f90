"""Logs say what the operators need: a server fault once, as an error, with its traceback;
a client's mistake as one INFO line without its query; the recent-log buffer (shown on the
performance page) holds no client's query text."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from backend.db import session_scope
from backend.monitoring import application
from tests.conftest import App


def errors(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.levelno >= logging.ERROR]


async def test_a_server_fault_is_logged_once_and_answered_in_our_shape(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    async with session_scope(app.runtime.sessions) as session:
        await session.execute(text("DROP TABLE audit_log"))  # a real fault: the table is gone
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = await app.client.get("/api/access-logs")
    assert response.status_code == 500
    assert response.json()["code"] == "internal" and "audit_log" not in response.text
    logged = errors(caplog.records)
    assert len(logged) == 1 and logged[0].exc_info is not None, logged


async def test_client_mistakes_are_one_info_line_without_the_query(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    secret_looking = "SELECT_ME_IF_YOU_CAN"
    with caplog.at_level(logging.INFO):
        await app.client.post("/graphql", json={"query": f"{{ {secret_looking} }}"})
        await app.client.post("/graphql", json={"query": "{ salesSummary(filter: {dateFrom: 1}) }"})
        await app.client.post(
            "/graphql",
            json={
                "query": "query($f: SalesFilter) { rowCount(filter: $f) }",
                "variables": {"f": {"dateFrom": "nope"}},
            },
        )
        await app.client.get("/api/ingest/tasks?offset=-1")
    assert errors(caplog.records) == []
    refused = [r for r in caplog.records if "GraphQL request refused" in r.getMessage()]
    assert len(refused) == 3 and all(r.levelno == logging.INFO for r in refused)
    for record in refused:  # the reason, not the query text
        assert "query(" not in record.getMessage() and "dateFrom: 1" not in record.getMessage()
    buffered = " ".join(entry["message"] for entry in application.LOG_BUFFER.records)
    assert "query(" not in buffered and "salesSummary(filter" not in buffered

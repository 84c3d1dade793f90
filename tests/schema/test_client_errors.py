"""Every client mistake is a coded answer that says what to change, never a 500 or a masked
"Unexpected error.": out-of-range integers and dates, bad variables, garbage cursors."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import App

HUGE = "9223372036854775808"


async def gql(app: App, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await app.client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> set[str]:
    assert body.get("errors"), body
    for error in body["errors"]:
        assert error["message"] != "Unexpected error.", body
    return {e["extensions"]["code"] for e in body["errors"]}


@pytest.mark.parametrize(
    "path",
    [
        f"/api/ingest/tasks?offset={HUGE}",
        "/api/ingest/tasks?offset=-1",
        f"/api/ingest/tasks?limit={HUGE}",
        f"/api/access-logs?offset={HUGE}",
        f"/api/performance/data-sources/metadata/access-logs?offset={HUGE}",
    ],
)
async def test_out_of_range_integers_in_rest_are_422(app: App, path: str) -> None:
    response = await app.client.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_input"


@pytest.mark.parametrize(
    "query",
    [
        "{ ingestionTasks(offset: -1) { taskId } }",
        "{ ingestionTasks(offset: 2000000000) { taskId } }",
        "{ ingestionTasks(limit: 0) { taskId } }",
        "{ accessLogs(offset: -5) { total } }",
    ],
)
async def test_out_of_range_integers_in_graphql_are_coded(app: App, query: str) -> None:
    assert codes(await gql(app, query)) == {"INVALID_INPUT"}


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(b"offset:-7").decode(),
        base64.urlsafe_b64encode(f"offset:{HUGE}".encode()).decode(),
        "not base64 at all",
        "LTU=",
    ],
)
async def test_garbage_row_cursors_are_coded(app: App, cursor: str) -> None:
    body = await gql(app, "query($c: String) { rows(after: $c) { totalCount } }", {"c": cursor})
    assert codes(body) == {"BAD_RANGE"}


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
async def test_dates_out_of_range_are_coded(app: App, day: str) -> None:
    for name in ("dateFrom", "dateTo"):
        inline = await gql(app, f'{{ salesSummary(filter: {{{name}: "{day}"}}) {{ totalSales }} }}')
        assert codes(inline) == {"BAD_RANGE"}


@pytest.mark.parametrize(
    "variables",
    [
        {"f": {"dateFrom": "nope"}},
        {"f": {"bogus": 1}},
        {"f": {"branches": [1]}},
        {"f": "not an object"},
    ],
)
async def test_bad_variables_get_the_same_clear_answer_as_inline_mistakes(
    app: App, variables: dict[str, Any]
) -> None:
    body = await gql(
        app, "query($f: SalesFilter) { salesSummary(filter: $f) { totalSales } }", variables
    )
    assert codes(body) == {"BAD_REQUEST"}
    assert "$f" in body["errors"][0]["message"]

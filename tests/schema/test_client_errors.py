"""Every client mistake is a coded answer that says what to change, never a 500 or a masked
"Unexpected error.": out-of-range integers and dates, bad variables, garbage cursors."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task

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


ANALYTICS = "query($q: AnalyticsQueryInput!) { analytics(query: $q) { columns rows } }"
COUNT = {"aggregate": "COUNT"}


async def analytics(app: App, **query: Any) -> dict[str, Any]:
    return await gql(app, ANALYTICS, {"q": {"datasource": "sales", **query}})


@pytest.mark.parametrize(
    "query",
    [
        {"measures": [{"aggregate": "SUM", "column": "Branch"}]},
        {"measures": [{"aggregate": "AVG", "column": "Date"}]},
        {"measures": [{"aggregate": "SUM", "column": "__time"}]},
        {"measures": [COUNT], "dimensions": ["Branch", "Branch"]},
        {"measures": [{**COUNT, "alias": "Branch"}], "dimensions": ["Branch"]},
        {
            "measures": [
                {**COUNT, "alias": "x"},
                {"aggregate": "MAX", "column": "Total", "alias": "x"},
            ]
        },
        {"measures": [{**COUNT, "alias": "__period"}], "granularity": "MONTH"},
        {"measures": [COUNT], "limit": -1},
        {
            "measures": [COUNT],
            "filters": [{"kind": "DATE_RANGE", "column": "Total", "values": ["2019-01-01", None]}],
        },
        {
            "measures": [COUNT],
            "filters": [{"kind": "EQUALS", "column": "Date", "values": ["5 Jan"]}],
        },
        {
            "measures": [COUNT],
            "filters": [{"kind": "EQUALS", "column": "Time", "values": ["noon"]}],
        },
    ],
)
async def test_analytics_queries_that_cannot_be_answered_say_why(
    app: App, query: dict[str, Any]
) -> None:
    task = await upload(app.client, content=sales_csv(rows=30))
    assert (await wait_for_task(app.client, task.json()["task_id"]))["status"] == "succeeded"
    assert codes(await analytics(app, **query)) == {"BAD_RANGE"}


async def test_analytics_filters_on_dates_and_times_take_their_values(app: App) -> None:
    task = await upload(app.client, content=sales_csv(rows=60))
    assert (await wait_for_task(app.client, task.json()["task_id"]))["status"] == "succeeded"
    by_day = await analytics(app, measures=[COUNT], dimensions=["Date"], limit=1)
    day, rows = by_day["data"]["analytics"]["rows"][0]
    at = (await analytics(app, measures=[COUNT], dimensions=["Time"], limit=1))["data"]
    clock, at_clock = at["analytics"]["rows"][0]

    async def counted(*filters: dict[str, Any]) -> int:
        body = await analytics(app, measures=[COUNT], filters=list(filters))
        assert "errors" not in body, body
        return int(body["data"]["analytics"]["rows"][0][0])

    assert await counted({"kind": "EQUALS", "column": "Date", "values": [day]}) == rows
    assert await counted({"kind": "IN", "column": "Date", "values": [day]}) == rows
    assert await counted({"kind": "RANGE", "column": "Date", "values": [day, day]}) == rows
    # [from, to]: a date-only `to` takes that whole day, on the date and on the timestamp
    assert await counted({"kind": "DATE_RANGE", "column": "Date", "values": [day, day]}) == rows
    assert await counted({"kind": "DATE_RANGE", "column": "__time", "values": [day, day]}) == rows
    filtered = await gql(app, f'{{ rowCount(filter: {{dateFrom: "{day}", dateTo: "{day}"}}) }}')
    assert int(filtered["data"]["rowCount"]) == rows
    assert await counted({"kind": "EQUALS", "column": "Time", "values": [clock]}) == at_clock


async def test_count_distinct_leaves_out_empty_values_as_sql_does(app: App) -> None:
    rows = b"k,amount\na,10\nb,20\nc,\n"
    task = await upload(app.client, content=rows, datasource="odd")
    assert (await wait_for_task(app.client, task.json()["task_id"]))["status"] == "succeeded"
    measures = [
        {"aggregate": "COUNT", "column": "amount"},
        {"aggregate": "COUNT_DISTINCT", "column": "amount"},
    ]
    body = await gql(app, ANALYTICS, {"q": {"datasource": "odd", "measures": measures}})
    assert body["data"]["analytics"]["rows"] == [[2, 2]], body


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_sent_over_http_is_told_to_use_the_websocket(
    app: App, method: str
) -> None:
    query = 'subscription { ingestionTaskUpdates(taskId: "nope") { id } }'
    if method == "POST":
        response = await app.client.post("/graphql", json={"query": query})
    else:
        response = await app.client.get("/graphql", params={"query": query})
    assert response.status_code == 400, response.text
    assert "subscription" in response.text.lower()


@pytest.mark.parametrize(
    "query",
    [
        "{",
        "{ " + "a: __typename " * 3000 + "}",  # over GRAPHQL_MAX_TOKENS
        "query A { a: __typename } query B { b: __typename }",  # which one? (operationName)
    ],
)
async def test_documents_that_cannot_run_are_coded(app: App, query: str) -> None:
    assert codes(await gql(app, query)) == {"BAD_REQUEST"}


async def test_the_operation_named_is_the_one_that_runs(app: App) -> None:
    both = "query A { a: __typename } query B { b: __typename }"
    response = await app.client.post("/graphql", json={"query": both, "operationName": "B"})
    assert response.json() == {"data": {"b": "Query"}}

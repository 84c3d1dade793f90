"""The performance page names routes and the app's GraphQL operations as a person knows them,
with the raw name beside; a made-up operation name is not counted on its own."""

from __future__ import annotations

import re
from pathlib import Path

from backend.main import create_app
from backend.monitoring.routes import OPERATIONS, ROUTES
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task

OVERVIEW = (
    "query DashboardOverview { salesSummary(filter: {}) { transactions } }",
    "DashboardOverview",
)


async def test_routes_and_the_apps_operations_have_names_in_words(app: App) -> None:
    await wait_for_task(
        app.client, (await upload(app.client, content=sales_csv(rows=3))).json()["task_id"]
    )
    for query, name in (OVERVIEW, ("query MadeUp { userCount }", "MadeUp")):
        answer = await app.client.post("/graphql", json={"query": query, "operationName": name})
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text

    body = await app.client.post(
        "/graphql", json={"query": "{ application { requests routes { route label requests } } }"}
    )
    routes = {r["route"]: r for r in body.json()["data"]["application"]["routes"]}
    assert routes["POST /api/ingest/upload"]["label"] == "Upload a file"
    overview = routes["POST /graphql DashboardOverview"]
    assert overview["label"] == "Dashboard: key figures" and overview["requests"] == 1
    assert not any("MadeUp" in route for route in routes)
    assert routes["POST /graphql"]["requests"] >= 2  # both, counted under the route too


def test_every_query_and_mutation_of_the_app_has_a_name_in_words() -> None:
    # Before: the rows view (DashboardRows), the page for any datasource (GenericAnalytics) and
    # the dashboard's datasource list (DashboardDatasources) were counted only as POST /graphql.
    declared = re.compile(r"^\s*(?:query|mutation) ([A-Za-z0-9_]+)", re.MULTILINE)
    sources = Path(__file__).parents[2] / "frontend" / "src"
    found = {
        name
        for path in sources.rglob("*.ts*")
        if "gql" not in path.parts and not path.name.endswith((".test.ts", ".test.tsx"))
        for name in declared.findall(path.read_text(encoding="utf-8"))
    }
    assert found, sources
    assert sorted(found - set(OPERATIONS)) == []


def test_the_upload_session_and_preview_routes_have_names_in_words() -> None:
    # Before: the preview's confirm and the reload of a task were shown by their raw names.
    paths = create_app().openapi()["paths"]
    routes = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        if path.startswith(("/api/uploads", "/api/ingest/tasks/{task_id}/"))
        for method in operations
    ]
    assert "POST /api/ingest/tasks/{task_id}/confirm" in routes
    assert [route for route in routes if route not in ROUTES] == []

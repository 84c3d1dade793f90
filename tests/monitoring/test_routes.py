"""The performance page names routes and the app's GraphQL operations as a person knows them,
with the raw name beside; a made-up operation name is not counted on its own."""

from __future__ import annotations

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

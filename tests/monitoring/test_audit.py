"""The access log (the audit log): paged, searchable by the start of an actor, action or target,
and not filled by a page load of someone who is not signed in."""

from __future__ import annotations

from typing import Any

from backend.auth.roles import Role
from backend.db import session_scope
from backend.monitoring import audit
from tests.conftest import App


async def log_page(app: App, **params: Any) -> dict[str, Any]:
    response = await app.client.get("/api/access-logs", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()["data"]
    return page


async def gql(app: App, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await app.client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def write(app: App, *entries: tuple[str, str, str | None]) -> None:
    async with session_scope(app.runtime.sessions) as session:
        for actor, action, target in entries:
            audit.record(session, actor, action, target)


async def test_the_access_log_is_paged_newest_first(app: App) -> None:
    await write(app, *((f"person{n:02d}", "create_workbook", f"wb{n}") for n in range(25)))

    first = await log_page(app, limit=10)
    second = await log_page(app, limit=10, offset=first["next_offset"])
    last = await log_page(app, limit=10, offset=second["next_offset"])

    assert first["total"] == 25 and (first["next_offset"], second["next_offset"]) == (10, 20)
    assert last["next_offset"] is None and len(last["items"]) == 5
    actors = [e["actor"] for page in (first, second, last) for e in page["items"]]
    assert actors == [f"person{n:02d}" for n in reversed(range(25))]


async def test_a_search_matches_the_start_of_an_actor_action_or_target(app: App) -> None:
    await write(
        app,
        ("alice (token:1)", "upload", "task-a"),
        ("bob (token:2)", "upload", "alice-report"),
        ("carol (token:3)", "cancel", "task-c"),
        ("dave (token:4)", "create_workbook", "Budget"),
    )

    def actors(page: dict[str, Any]) -> list[str]:
        return sorted(e["actor"].split()[0] for e in page["items"])

    assert actors(await log_page(app, search="ALI")) == ["alice", "bob"]  # any case
    assert actors(await log_page(app, search="cancel")) == ["carol"]
    assert actors(await log_page(app, search="budg")) == ["dave"]
    assert actors(await log_page(app, search="ice")) == []  # the start only, not the middle
    paged = await log_page(app, search="task", limit=1)
    assert paged["total"] == 2 and paged["next_offset"] == 1 and len(paged["items"]) == 1


async def test_percent_and_underscore_in_a_search_match_themselves(app: App) -> None:
    await write(
        app,
        ("ops", "create_workbook", "50%_off"),
        ("ops", "create_workbook", "50%Xoff"),
        ("ops", "create_workbook", "50 and more"),
        ("ops", "create_workbook", "500_items"),
    )
    rest = await log_page(app, search="50%_")
    assert [e["target"] for e in rest["items"]] == ["50%_off"]

    query = (
        "query($search: String) { accessLogs(search: $search, limit: 2) "
        "{ total nextOffset items { target } } }"
    )
    found = (await gql(app, query, {"search": "50%_"}))["data"]["accessLogs"]
    assert found == {"total": 1, "nextOffset": None, "items": [{"target": "50%_off"}]}
    underscore = (await gql(app, query, {"search": "50_"}))["data"]["accessLogs"]
    assert underscore["total"] == 0  # "_" is not "any one character"


async def test_a_search_is_bounded(app: App) -> None:
    too_long = "x" * (audit.MAX_SEARCH + 1)
    rest = await app.client.get("/api/access-logs", params={"search": too_long})
    assert rest.status_code == 422
    query = "query($search: String) { accessLogs(search: $search) { total } }"
    answer = await gql(app, query, {"search": too_long})
    assert answer["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_a_search_given_twice_is_refused_not_one_of_them_kept(app: App) -> None:
    # FastAPI kept the last of several values without a word (schemathesis found it).
    for url in ("/api/access-logs", "/api/performance/data-sources/x/access-logs"):
        twice = await app.client.get(url, params=[("search", "ana"), ("search", "ben")])
        assert twice.status_code == 422, twice.text
        assert "'search' is given more than once" in twice.json()["error"]


# What the app's pages ask when they open (each a request of its own, as the app sends them).
PAGE_QUERIES = {
    "/": ["HeaderMe", "UnreadNotificationCount", "DashboardHome", "Tasks"],
    "/status": ["HeaderMe", "UnreadNotificationCount", "Status", "StatusUserCount"],
    "/performance": ["HeaderMe", "UnreadNotificationCount", "Performance", "AccessLogs"],
}
QUERIES = {
    "HeaderMe": "query HeaderMe { me { name } }",
    "UnreadNotificationCount": "query UnreadNotificationCount { unreadNotificationCount }",
    "DashboardHome": "query DashboardHome { datasources { name } }",
    "Tasks": "query Tasks { ingestionTasks { total } }",
    "Status": "query Status { health { status } sigmaStatus { mode } }",
    "StatusUserCount": "query StatusUserCount { userCount }",
    "Performance": "query Performance { pipelines { runs } }",
    "AccessLogs": "query AccessLogs { accessLogs { total } }",
}


async def load_pages(app: App, token: str | None) -> None:
    """Open each page as a browser does: the page, what it asks the service, its queries."""
    async with app.client_as(token) as browser:
        for page, operations in PAGE_QUERIES.items():
            assert (await browser.get(page)).status_code in (200, 503)  # 503: not built
            await browser.get("/api/auth/session")
            await browser.get("/healthz")
            for name in operations:
                answer = await browser.post(
                    "/graphql", json={"query": QUERIES[name], "operationName": name}
                )
                assert answer.status_code in (200, 401), answer.text


async def test_opening_the_pages_without_signing_in_writes_a_row_per_caller(app: App) -> None:
    before = (await log_page(app))["total"]

    await load_pages(app, None)  # nobody signed in (no anonymous role)
    await load_pages(app, "a-token-from-an-older-installation")  # a browser's stale token

    page = await log_page(app, search="denied")
    assert page["total"] - before == 2, page["items"]
    assert {(e["actor"], e["target"]) for e in page["items"]} == {
        ("anonymous", "POST /graphql"),
        ("unknown credentials", "POST /graphql"),
    }


async def test_a_signed_in_caller_refused_at_another_operation_is_written_again(app: App) -> None:
    # Before: after a viewer's refused accessLogs, its refused setSigmaMode (an attempt to change
    # the engine) on the same door, POST /graphql, was not written for five minutes.
    viewer = app.client_as(await app.token(Role.VIEWER, "vera"))
    for query in (
        "query { accessLogs { total } }",
        "mutation { setSigmaMode(mode: STANDALONE) { mode } }",
        "query { accessLogs { total } }",  # the same refusal again: not a row of its own
    ):
        answer = await viewer.post("/graphql", json={"query": query})
        assert answer.status_code == 200 and answer.json()["errors"], answer.text

    page = await log_page(app, search="vera")
    reasons = sorted(e["detail"]["reason"] for e in page["items"] if e["action"] == "denied")
    assert reasons == [
        "GraphQL field accessLogs needs admin",
        "GraphQL field setSigmaMode needs admin",
    ], page["items"]

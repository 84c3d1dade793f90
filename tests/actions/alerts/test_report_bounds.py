"""A report is bounded while it is made (hostile review of issue 26, finding 12): at most
ACTIONS_REPORT_MAX_ROWS rows over all its widgets, refused before the widget that passes it is
written as CSV; its CSV bytes counted as they are made, stopped at the channel's size; and the
CSV and the message made off the event loop, so the API keeps answering while a large report is
built."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from typing import Any

import pytest

from backend.actions.delivery import new_secret
from backend.actions.kinds import Services, report
from backend.actions.mail import Mailer
from backend.actions.outbound.client import OutboundClient
from backend.auth.roles import Role
from tests.actions.alerts.conftest import Inbox
from tests.actions.alerts.harness import Owner, create_action, execute, new_run, owner, services
from tests.actions.alerts.test_reports import SHOP, attachments, dashboard_csv, smtp
from tests.actions.outbound.receiver import Reply, receiving
from tests.conftest import App
from tests.factories import upload, wait_for_task

TODAY = dt.datetime.now(dt.UTC).date()
SALES = {"datasource": "shop", "measures": [{"aggregate": "sum", "column": "Total"}]}
BY_BRANCH = {**SALES, "dimensions": ["Branch"], "order": [{"name": "Branch"}]}


async def load(app: App, datasource: str, content: bytes) -> None:
    accepted = await upload(app.client, content=content, datasource=datasource)
    assert accepted.status_code in (200, 202), accepted.text
    task = await wait_for_task(app.client, accepted.json()["task_id"], timeout=180)
    assert task["status"] == "succeeded", task


async def workbook(app: App, datasource: str, widgets: list[dict[str, Any]]) -> str:
    body = {
        "title": "Bounded",
        "datasource": datasource,
        "filters": {},
        "widgets": widgets,
        "visibility": "shared",
    }
    answer = await app.client.post("/api/workbooks", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def bounded(given: Services, **values: Any) -> Services:
    return dataclasses.replace(given, settings=given.settings.model_copy(update=values))


async def run_report(
    app: App, person: Owner, params: dict[str, Any], given: Services, secret: str | None = None
) -> report.Outcome:
    action = await create_action(app.runtime, person.principal, "report", params, secret)
    run_id = await new_run(app.runtime, action)
    return await execute(report, app.runtime, action, run_id, person.principal, given)


async def test_a_report_over_its_rows_stops_before_the_widget_that_passes_them(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    await load(app, "shop", SHOP)
    widgets = [
        {"kind": "kpi", "title": "Sales", "query": SALES},  # 1 row
        {"kind": "breakdown", "title": "By branch", "query": BY_BRANCH},  # 2 rows: 3 in all
        {"kind": "breakdown", "title": "Again", "query": BY_BRANCH},  # 2 more: 5, over 3
        {"kind": "breakdown", "title": "Never", "query": BY_BRANCH},
    ]
    workbook_id = await workbook(app, "shop", widgets)
    mailer = Mailer(smtp(app.runtime.settings, port))
    given = bounded(services(app.runtime, outbound, mailer), actions_report_max_rows=3)

    outcome = await run_report(
        app, person, {"workbook_id": workbook_id, "to": ["ana@example.com"]}, given
    )

    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["code"] == "report_too_many_rows"
    assert outcome.error["message"] == (
        "The report has at least 5 rows in its first 3 widgets of 4, more than the 3 rows a "
        "report may have (ACTIONS_REPORT_MAX_ROWS)."
    )
    assert outcome.error["hint"] == (
        "Filter the workbook (or the query) to fewer rows, or send fewer widgets."
    )
    # made as CSV: the two widgets before the one that passed the bound, nothing after
    assert outcome.output["widgets"] == [
        {"title": "Sales.csv", "rows": 1},
        {"title": "By branch.csv", "rows": 2},
    ]
    assert outcome.output["rows"] == 3
    assert handler.messages == []


async def test_a_report_stops_making_csv_once_past_the_size_its_channel_takes(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    lines = [f"{TODAY},B{n:05d},{n}" for n in range(3000)]
    await load(app, "wide", ("day,Branch,Total\n" + "\n".join(lines) + "\n").encode())
    query = {**BY_BRANCH, "datasource": "wide", "limit": 100_000}
    widgets = [{"kind": "breakdown", "title": f"W{n}", "query": query} for n in range(3)]
    workbook_id = await workbook(app, "wide", widgets)
    one = len(await dashboard_csv(person, workbook_id, 0))
    monkeypatch.setattr(report, "MAX_MAIL", one * 3 // 2)  # one widget's CSV, not two
    given = services(app.runtime, outbound, Mailer(smtp(app.runtime.settings, port)))
    made: list[int] = []
    counting = report._csv

    def counted(result: Any, room: int) -> tuple[bytes, int]:
        data, size = counting(result, room)
        made.append(len(data))
        return data, size

    monkeypatch.setattr(report, "_csv", counted)

    outcome = await run_report(
        app, person, {"workbook_id": workbook_id, "to": ["ana@example.com"]}, given
    )

    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"].startswith("The report is more than 0.0 MiB as CSV ")
    assert outcome.error["message"].endswith(" MiB a report sends by e-mail.")
    assert outcome.error["hint"] == "Narrow its filters or widgets."
    assert outcome.output["widgets"] == [{"title": "W0.csv", "rows": 3000}]
    # the second widget's CSV was stopped a chunk (1,000 rows) past the room left
    assert len(made) == 2 and made[1] < made[0]
    assert handler.messages == []


async def test_a_url_report_is_bounded_by_the_size_a_url_takes_while_it_is_made(
    app: App, outbound: OutboundClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = await owner(app, Role.UPLOADER, "ana")
    lines = [f"{TODAY},B{n:05d},{n}" for n in range(3000)]
    await load(app, "wide", ("day,Branch,Total\n" + "\n".join(lines) + "\n").encode())
    query = {**BY_BRANCH, "datasource": "wide", "limit": 100_000}
    monkeypatch.setattr(report, "MAX_POST", 20_000)  # the CSV is over 30 KB
    with receiving(lambda _seen: Reply(204)) as receiver:
        params = {"query": query, "url": receiver.url()}
        outcome = await run_report(
            app, person, params, services(app.runtime, outbound), new_secret()
        )
        assert receiver.hits == []
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"].startswith("The report is more than 0.0 MiB as JSON, over")
    assert outcome.output["widgets"] == []


async def test_the_event_loop_keeps_answering_while_a_large_report_is_built(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    lines = [f"{TODAY},INV-{n:08d},{n}.25" for n in range(100_000)]
    await load(app, "big", ("day,Branch,Total\n" + "\n".join(lines) + "\n").encode())
    query = {**BY_BRANCH, "datasource": "big", "limit": 100_000}
    widgets = [{"kind": "breakdown", "title": f"W{n}", "query": query} for n in range(4)]
    workbook_id = await workbook(app, "big", widgets)
    mailer = Mailer(smtp(app.runtime.settings, port, smtp_timeout_seconds=120))
    given = bounded(services(app.runtime, outbound, mailer), actions_report_max_rows=400_000)
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - started - 0.05)

    ticking = asyncio.create_task(ticker())
    try:
        params = {"workbook_id": workbook_id, "to": ["ana@example.com"]}
        outcome = await run_report(app, person, params, given)
    finally:
        done.set()
        await ticking

    assert outcome.status == "succeeded", outcome
    assert outcome.output["rows"] == 400_000
    [(_, message)] = handler.messages
    assert len(attachments(message)) == 4
    assert len(lags) > 5 and max(lags) < 0.5, f"the event loop lagged {max(lags):.2f} s"


async def test_each_query_of_a_report_runs_within_the_query_time_out(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    await load(app, "shop", SHOP)
    mailer = Mailer(smtp(app.runtime.settings, port))
    given = services(app.runtime, outbound, mailer)
    params = {"query": BY_BRANCH, "to": ["ana@example.com"]}
    hurried = bounded(given, query_timeout_seconds=1e-9)

    outcome = await run_report(app, person, params, hurried)

    assert outcome.status == "failed" and outcome.error == {
        "code": "query_budget_exceeded",
        "message": "A query of the report took more than the 1e-09 s of analytics time a "
        "query may have (QUERY_TIMEOUT_SECONDS).",
        "hint": "Narrow the workbook's filters or widgets, or ask an operator to raise it.",
    }
    assert handler.messages == []
    assert (await run_report(app, person, params, given)).status == "succeeded"
    assert len(handler.messages) == 1

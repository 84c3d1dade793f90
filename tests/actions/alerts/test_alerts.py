"""Alerts over real uploads and the real analytics: "sum of Total yesterday below X" fires once
when a replace upload drops yesterday's figure (one in-app notification, one signed webhook),
not again while it stays low, not on recovery, and once more when it drops again. A retried run
delivers again without evaluating or notifying again."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import standardwebhooks

from backend.actions.delivery import new_secret
from backend.actions.kinds import Services, alert
from backend.actions.outbound.client import OutboundClient
from backend.analytics.periods import relative_days
from backend.auth.roles import Role
from tests.actions.alerts.harness import Owner, create_action, execute, new_run, owner, services
from tests.actions.outbound.receiver import Reply, Seen, receiving
from tests.conftest import App
from tests.factories import upload, wait_for_task

NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.date()
YESTERDAY = TODAY - dt.timedelta(days=1)
BEFORE = TODAY - dt.timedelta(days=2)


def shop_csv(*days: tuple[dt.date, list[float]], tag: str = "") -> bytes:
    """Rows of a `shop` datasource: each day's sales totals (`tag` makes the bytes new)."""
    lines = ["day,Branch,Total"]
    for day, totals in days:
        lines += [f"{day.isoformat()},A{tag},{total}" for total in totals]
    return ("\n".join(lines) + "\n").encode()


async def load(app: App, content: bytes, *, replace: bool = False) -> None:
    extra = {"mode": "replace", "force": "true"} if replace else {}
    accepted = await upload(app.client, content=content, datasource="shop", extra=extra)
    assert accepted.status_code in (200, 202), accepted.text
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "succeeded", task


def alert_params(op: str, value: float, **more: Any) -> dict[str, Any]:
    return {
        "datasource": "shop",
        "measure": {"aggregate": "sum", "column": "Total"},
        "window": "yesterday",
        "condition": {"op": op, "value": value},
        "timezone": "UTC",
        **more,
    }


async def alerts_of(person: Owner) -> list[dict[str, Any]]:
    answer = await person.client.get("/api/notifications", params={"limit": 50})
    assert answer.status_code == 200, answer.text
    return [n for n in answer.json()["items"] if n["kind"] == "action_alert"]


class Verifying:
    """A receiver's script: every request verified with the reference library, then `status`."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.events: list[Any] = []
        self.ids: list[str] = []
        self.status = 204

    def __call__(self, seen: Seen) -> Reply:
        event = standardwebhooks.Webhook(self.secret).verify(seen.body, seen.headers)
        self.events.append(event)
        self.ids.append(seen.headers["webhook-id"])
        return Reply(self.status)


async def evaluate(app: App, person: Owner, action: Any, given: Services) -> dict[str, Any]:
    """One run of the alert to its end: its output."""
    run_id = await new_run(app.runtime, action)
    outcome = await execute(alert, app.runtime, action, run_id, person.principal, given, NOW)
    assert outcome.status == "succeeded", outcome
    return outcome.output


def test_yesterday_is_the_day_before_today() -> None:
    assert relative_days("yesterday", dt.date(2027, 1, 1)) == (
        dt.date(2026, 12, 31),
        dt.date(2026, 12, 31),
    )


async def test_an_alert_fires_once_per_drop_below_its_threshold(
    app: App, outbound: OutboundClient
) -> None:
    await load(app, shop_csv((YESTERDAY, [100, 200]), (TODAY, [50])))
    person = await owner(app, Role.UPLOADER, "ana")
    secret = new_secret()
    verifying = Verifying(secret)
    with receiving(verifying) as receiver:
        params = alert_params("below", 250, url=receiver.url("/hook"))
        action = await create_action(app.runtime, person.principal, "alert", params, secret)
        given = services(app.runtime, outbound)

        first = await evaluate(app, person, action, given)
        assert (first["value"], first["state"], first["fired"]) == (300.0, "ok", False)
        assert await alerts_of(person) == [] and receiver.hits == []

        await load(app, shop_csv((YESTERDAY, [100])), replace=True)
        dropped = await evaluate(app, person, action, given)
        assert (dropped["value"], dropped["state"], dropped["fired"]) == (100.0, "firing", True)
        notified = await alerts_of(person)
        assert len(notified) == 1
        assert "fired" in notified[0]["title"] and "100" in notified[0]["title"]
        assert len(verifying.events) == 1
        assert verifying.events[0]["type"] == "alert.fired"
        assert verifying.events[0]["data"]["value"] == 100.0

        await load(app, shop_csv((YESTERDAY, [90]), tag="x"), replace=True)
        still = await evaluate(app, person, action, given)
        assert (still["value"], still["state"], still["fired"]) == (90.0, "firing", False)

        await load(app, shop_csv((YESTERDAY, [400])), replace=True)
        recovered = await evaluate(app, person, action, given)
        assert (recovered["state"], recovered["fired"]) == ("ok", False)
        assert len(await alerts_of(person)) == 1 and len(verifying.events) == 1

        await load(app, shop_csv((YESTERDAY, [120])), replace=True)
        again = await evaluate(app, person, action, given)
        assert (again["value"], again["fired"]) == (120.0, True)
        assert len(await alerts_of(person)) == 2
        assert len(verifying.events) == 2
        assert len(set(verifying.ids)) == 2  # one webhook-id per run


async def test_a_retried_run_delivers_again_without_notifying_twice(
    app: App, outbound: OutboundClient
) -> None:
    await load(app, shop_csv((YESTERDAY, [10]), (TODAY, [5])))
    person = await owner(app, Role.UPLOADER, "ben")
    secret = new_secret()
    verifying = Verifying(secret)
    verifying.status = 500
    with receiving(verifying) as receiver:
        params = alert_params("below", 250, url=receiver.url("/hook"))
        action = await create_action(app.runtime, person.principal, "alert", params, secret)
        given = services(app.runtime, outbound)
        run_id = await new_run(app.runtime, action)

        failed = await execute(alert, app.runtime, action, run_id, person.principal, given, NOW)
        assert failed.status == "retry" and failed.attempts[0].status_code == 500
        # Yesterday's figure recovers before the retry: the retry keeps what fired.
        await load(app, shop_csv((YESTERDAY, [1000])), replace=True)
        verifying.status = 204
        retried = await execute(alert, app.runtime, action, run_id, person.principal, given, NOW)

    assert retried.status == "succeeded" and retried.attempts[0].ok
    assert retried.output["fired"] is True and retried.output["value"] == 10.0
    assert len(await alerts_of(person)) == 1
    assert len(verifying.events) == 2 and verifying.ids[0] == verifying.ids[1]
    assert verifying.events[1]["data"]["value"] == 10.0


async def test_an_alert_without_url_notifies_a_viewer_in_the_app(
    app: App, outbound: OutboundClient
) -> None:
    await load(app, shop_csv((YESTERDAY, [30]), (TODAY, [5])))
    person = await owner(app, Role.VIEWER, "vic")
    action = await create_action(app.runtime, person.principal, "alert", alert_params("above", 20))
    output = await evaluate(app, person, action, services(app.runtime, outbound))
    assert (output["state"], output["fired"]) == ("firing", True)
    [notified] = await alerts_of(person)
    assert notified["title"].endswith("above 20.")


async def test_a_change_against_the_day_before_fires_beyond_the_percentage(
    app: App, outbound: OutboundClient
) -> None:
    await load(app, shop_csv((BEFORE, [300]), (YESTERDAY, [280]), (TODAY, [1])))
    person = await owner(app, Role.VIEWER, "cleo")
    params = alert_params("change_pct", 50)
    action = await create_action(app.runtime, person.principal, "alert", params)
    given = services(app.runtime, outbound)

    calm = await evaluate(app, person, action, given)
    assert (calm["value"], calm["baseline"], calm["state"]) == (280.0, 300.0, "ok")

    await load(app, shop_csv((YESTERDAY, [100])), replace=True)
    moved = await evaluate(app, person, action, given)
    assert (moved["baseline"], moved["state"], moved["fired"]) == (300.0, "firing", True)
    assert moved["change_pct"] == pytest.approx(-66.6667, abs=1e-3)
    [notified] = await alerts_of(person)
    assert "-66.7%" in notified["title"]


async def test_no_rows_in_the_window_is_nothing_sold_for_a_sum_or_a_count(
    app: App, outbound: OutboundClient
) -> None:
    """ "Fewer than 10 sales yesterday" holds on a day without sales (found by a new analyst:
    it never fired); an average of no rows has no value and keeps the state."""
    await load(app, shop_csv((TODAY, [5])))
    person = await owner(app, Role.VIEWER, "dora")
    given = services(app.runtime, outbound)
    counted = await create_action(
        app.runtime,
        person.principal,
        "alert",
        alert_params("below", 10, measure={"aggregate": "count"}),
    )
    output = await evaluate(app, person, counted, given)
    assert (output["value"], output["fired"], output["state"]) == (0.0, True, "firing")
    assert len(await alerts_of(person)) == 1

    averaged = await create_action(
        app.runtime,
        person.principal,
        "alert",
        alert_params("below", 1, measure={"aggregate": "avg", "column": "Total"}),
    )
    output = await evaluate(app, person, averaged, given)
    assert output["value"] is None and output["fired"] is False and output["state"] == "ok"
    assert output["note"].startswith("There are no rows for yesterday")
    assert len(await alerts_of(person)) == 1


async def test_an_unknown_datasource_fails_the_run_with_a_sentence(
    app: App, outbound: OutboundClient
) -> None:
    person = await owner(app, Role.VIEWER, "eve")
    params = {**alert_params("below", 1), "datasource": "nowhere"}
    action = await create_action(app.runtime, person.principal, "alert", params)
    run_id = await new_run(app.runtime, action)
    given = services(app.runtime, outbound)
    outcome = await execute(alert, app.runtime, action, run_id, person.principal, given, NOW)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"].endswith(".") and "nowhere" in outcome.error["message"]


async def test_an_owner_without_the_uploader_role_gets_no_url_called(
    app: App, outbound: OutboundClient
) -> None:
    await load(app, shop_csv((YESTERDAY, [30])))
    person = await owner(app, Role.VIEWER, "fay")
    with receiving(lambda _seen: Reply(204)) as receiver:
        params = alert_params("above", 20, url=receiver.url())
        action = await create_action(app.runtime, person.principal, "alert", params, new_secret())
        run_id = await new_run(app.runtime, action)
        given = services(app.runtime, outbound)
        outcome = await execute(alert, app.runtime, action, run_id, person.principal, given, NOW)
        assert receiver.hits == []
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"].startswith("Only uploaders and admins may have an alert")


def test_the_window_is_counted_in_the_alerts_time_zone() -> None:
    noon_utc = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
    assert alert.today_in("Pacific/Kiritimati", noon_utc) == dt.date(2026, 12, 6)
    assert alert.today_in("America/Los_Angeles", noon_utc) == dt.date(2026, 12, 5)
    days = alert.window_days("last-7-days", dt.date(2026, 12, 5))
    assert alert.window_before(days) == (dt.date(2026, 11, 22), dt.date(2026, 11, 28))
    with pytest.raises(alert.AlertError, match="unknown time zone"):
        alert.today_in("Mars/Olympus", noon_utc)


def engine_queries(app: App, field: str) -> float:
    """The engine queries (cache misses) the analytics service ran for `field`."""
    histogram = app.runtime.metrics.registry.queries
    return sum(
        sample.value
        for metric in histogram.collect()
        for sample in metric.samples
        if sample.name.endswith("_count") and sample.labels.get("field") == field
    )


async def test_an_evaluation_runs_two_queries_at_most_within_the_query_budget(
    app: App, outbound: OutboundClient
) -> None:
    await load(app, shop_csv((BEFORE, [300]), (YESTERDAY, [280]), (TODAY, [1])))
    person = await owner(app, Role.VIEWER, "cleo")
    action = await create_action(
        app.runtime, person.principal, "alert", alert_params("change_pct", 50)
    )
    given = services(app.runtime, outbound)
    output = await evaluate(app, person, action, given)
    assert (output["value"], output["baseline"]) == (280.0, 300.0)
    # the window's measure with its row count beside it, and the window before
    assert engine_queries(app, "alert") == 2

    await load(app, shop_csv((YESTERDAY, [100])), replace=True)  # new data: not in the cache
    hurried = given.settings.model_copy(update={"query_timeout_seconds": 1e-9})
    run_id = await new_run(app.runtime, action)
    outcome = await execute(
        alert,
        app.runtime,
        action,
        run_id,
        person.principal,
        dataclasses.replace(given, settings=hurried),
        NOW,
    )
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error == {
        "code": "query_budget_exceeded",
        "message": "The alert's queries took more than the 1e-09 s of analytics time a request "
        "may have (QUERY_TIMEOUT_SECONDS).",
        "hint": "Alert on a shorter window or with narrower filters, or ask an operator to "
        "raise QUERY_TIMEOUT_SECONDS.",
    }
    assert await alerts_of(person) == []

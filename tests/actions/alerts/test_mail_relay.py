"""E-mailed reports are not an open relay (hostile review of issue 26, finding 8): with
ACTIONS_MAIL_DOMAINS set, a report to an address elsewhere is refused when it is saved and fails
at its run without a message; one person's actions send at most ACTIONS_MAILS_PER_HOUR e-mails
an hour (counted from the deliveries recorded), the next run waiting, retryable, with a sentence."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from backend.actions import service
from backend.actions.kinds import Services, report
from backend.actions.mail import Mailer
from backend.actions.outbound.client import OutboundClient
from backend.actions.schemas import ActionIn
from backend.actions.worker import record_attempts
from backend.auth.roles import Role
from backend.db import session_scope
from backend.errors import Forbidden
from tests.actions.alerts.conftest import Inbox
from tests.actions.alerts.harness import create_action, execute, new_run, owner, services
from tests.actions.alerts.test_reports import saved_workbook, smtp
from tests.conftest import App, Backend, app_for


def with_settings(given: Services, **values: object) -> Services:
    return dataclasses.replace(given, settings=given.settings.model_copy(update=values))


async def test_a_report_to_another_domain_is_refused_when_it_is_saved(app: App) -> None:
    person = await owner(app, Role.UPLOADER, "ana")
    workbook = await saved_workbook(app, person)
    settings = app.runtime.settings.model_copy(update={"actions_mail_domains": ["example.com"]})
    assert app.runtime.cipher is not None

    def body(*to: str) -> ActionIn:
        params = {"workbook_id": workbook["id"], "to": list(to)}
        return ActionIn.model_validate({"name": "Weekly", "kind": "report", "params": params})

    async with session_scope(app.runtime.sessions) as session:
        with pytest.raises(Forbidden) as refused:
            await service.create(
                session,
                person.principal,
                body("ana@example.com", "spam@elsewhere.test"),
                app.runtime.cipher,
                settings=settings,
            )
    assert refused.value.message == (
        "Reports may be e-mailed only to addresses at example.com (ACTIONS_MAIL_DOMAINS); "
        "spam@elsewhere.test is not."
    )
    assert refused.value.detail == (
        "Send the report to addresses at those domains, or ask an operator to add the domain "
        "to ACTIONS_MAIL_DOMAINS."
    )
    async with session_scope(app.runtime.sessions) as session:
        made, _ = await service.create(
            session,
            person.principal,
            body("Ops@Example.COM"),
            app.runtime.cipher,
            settings=settings,
        )
    assert made.kind == "report"


async def test_a_report_to_another_domain_fails_at_its_run_without_a_message(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    workbook = await saved_workbook(app, person)
    params = {"workbook_id": workbook["id"], "to": ["ana@example.com", "x@elsewhere.test"]}
    action = await create_action(app.runtime, person.principal, "report", params)
    given = services(app.runtime, outbound, Mailer(smtp(app.runtime.settings, port)))
    run_id = await new_run(app.runtime, action)

    outcome = await execute(
        report,
        app.runtime,
        action,
        run_id,
        person.principal,
        with_settings(given, actions_mail_domains=["example.com"]),
    )

    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"] == (
        "Reports may be e-mailed only to addresses at example.com (ACTIONS_MAIL_DOMAINS); "
        "x@elsewhere.test is not."
    )
    assert handler.messages == []


async def test_past_the_mails_an_hour_allows_the_run_waits_and_sends_nothing(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    other = await owner(app, Role.UPLOADER, "bob")
    workbook = await saved_workbook(app, person)
    params = {"workbook_id": workbook["id"], "to": ["ana@example.com"]}
    mailer = Mailer(smtp(app.runtime.settings, port))
    given = with_settings(services(app.runtime, outbound, mailer), actions_mails_per_hour=2)

    async def mailed(who: str) -> report.Outcome:
        """One run of a new report of `who`, its attempts recorded as the worker does."""
        principal = person.principal if who == "ana" else other.principal
        action = await create_action(app.runtime, principal, "report", params)
        run_id = await new_run(app.runtime, action)
        outcome = await execute(report, app.runtime, action, run_id, principal, given)
        async with session_scope(app.runtime.sessions) as session:
            record_attempts(session, run_id, 0, outcome.attempts, dt.datetime.now(dt.UTC))
        return outcome

    assert [(await mailed("ana")).status for _ in range(2)] == ["succeeded", "succeeded"]
    held = await mailed("ana")
    again = await mailed("ana")  # the held attempt is not counted as a sent e-mail
    assert (await mailed("bob")).status == "succeeded"  # another person's hour is their own

    assert len(handler.messages) == 3
    for outcome in (held, again):
        assert outcome.status == "retry" and outcome.error is not None
        assert outcome.error["code"] == "mail_limit_reached"
        [attempt] = outcome.attempts
        assert attempt.retryable and not attempt.ok
        assert attempt.retry_after is not None and 3000 < attempt.retry_after <= 3601
    assert held.error is not None and held.error["message"] == (
        "The report was not e-mailed: your actions sent 2 e-mails in the last hour, as many as "
        "ACTIONS_MAILS_PER_HOUR (2) allows; it is sent again in about 60 minute(s)."
    )
    assert held.error["hint"] == (
        "Send fewer reports by e-mail, or ask an operator to raise ACTIONS_MAILS_PER_HOUR."
    )


async def test_the_api_answers_403_with_the_sentence(embedded: Backend) -> None:
    settings = embedded.settings.model_copy(update={"actions_mail_domains": ["example.com"]})
    async with app_for(dataclasses.replace(embedded, settings=settings)) as app:
        person = await owner(app, Role.UPLOADER, "ana")
        workbook = await saved_workbook(app, person)
        params = {"workbook_id": workbook["id"], "to": ["a@elsewhere.test", "b@other.test"]}
        body = {"name": "Weekly", "kind": "report", "params": params}
        answer = await person.client.post("/api/actions", json=body)
        await person.client.aclose()
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == (
        "Reports may be e-mailed only to addresses at example.com (ACTIONS_MAIL_DOMAINS); "
        "a@elsewhere.test, b@other.test are not."
    )

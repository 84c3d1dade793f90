"""Reports through a real SMTP server on 127.0.0.1 (aiosmtpd): a saved workbook's widgets arrive
as one message whose CSV attachments are byte for byte what the dashboard serves
(GET /api/workbooks/{id}/widgets/{i}/data.csv); a viewer's report goes only to their own profile
e-mail; a server down is retried, a 5xx reply is not, no SMTP_HOST is said in a sentence."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

import pytest
import standardwebhooks

from backend.actions import mail
from backend.actions.delivery import new_secret
from backend.actions.kinds import report
from backend.actions.mail import Mailer
from backend.actions.outbound.client import OutboundClient
from backend.auth.roles import Role
from backend.config import Settings
from tests.actions.alerts.conftest import Inbox
from tests.actions.alerts.harness import Owner, create_action, execute, new_run, owner, services
from tests.actions.outbound.receiver import Reply, Seen, receiving
from tests.conftest import App
from tests.factories import upload, wait_for_task
from tests.services import free_port

TODAY = dt.datetime.now(dt.UTC).date()
SHOP = (
    "day,Branch,Total\n"
    f"{TODAY - dt.timedelta(days=3)},A,10.5\n"
    f"{TODAY - dt.timedelta(days=2)},B,2\n"
    f"{TODAY - dt.timedelta(days=1)},A,7\n"
    f"{TODAY},B,3.25\n"
).encode()


def smtp(settings: Settings, port: int | None, **more: Any) -> Settings:
    host = "127.0.0.1" if port is not None else None
    values = {"smtp_host": host, "smtp_port": port or 25, "smtp_security": "none", **more}
    return settings.model_copy(update=values)


async def saved_workbook(app: App, person: Owner) -> dict[str, Any]:
    accepted = await upload(app.client, content=SHOP, datasource="shop")
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "succeeded", task
    query = {"datasource": "shop", "measures": [{"aggregate": "sum", "column": "Total"}]}
    body = {
        "title": "Shop review",
        "datasource": "shop",
        "filters": {"range": "last-7-days"},
        "widgets": [
            {"kind": "kpi", "title": "Sales", "query": query},
            {
                "kind": "breakdown",
                "title": "By branch",
                "query": {**query, "dimensions": ["Branch"], "order": [{"name": "Branch"}]},
            },
        ],
        "visibility": "shared",
    }
    answer = await app.client.post("/api/workbooks", json=body)
    assert answer.status_code == 201, answer.text
    saved: dict[str, Any] = answer.json()
    return saved


async def dashboard_csv(person: Owner, workbook_id: str, index: int) -> bytes:
    answer = await person.client.get(f"/api/workbooks/{workbook_id}/widgets/{index}/data.csv")
    assert answer.status_code == 200, answer.text
    return answer.content


def attachments(message: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[part.get_filename() or ""] = payload
    return found


async def test_a_report_mails_the_dashboards_csv_byte_for_byte(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    workbook = await saved_workbook(app, person)
    params = {"workbook_id": workbook["id"], "to": ["ana@example.com", "ops@example.com"]}
    action = await create_action(app.runtime, person.principal, "report", params)
    given = services(app.runtime, outbound, Mailer(smtp(app.runtime.settings, port)))
    run_id = await new_run(app.runtime, action)

    outcome = await execute(report, app.runtime, action, run_id, person.principal, given)

    assert outcome.status == "succeeded", outcome
    assert outcome.attempts[0].target == f"smtp://127.0.0.1:{port}"
    [(to, message)] = handler.messages
    assert to == ["ana@example.com", "ops@example.com"]
    assert message["Subject"] == "Report: Shop review"
    sent = attachments(message)
    assert sent == {
        "Sales.csv": await dashboard_csv(person, workbook["id"], 0),
        "By branch.csv": await dashboard_csv(person, workbook["id"], 1),
    }
    text = message.get_body(("plain",))
    assert text is not None and "- Sales.csv: 1 row" in text.get_content()
    assert outcome.output["widgets"] == [
        {"title": "Sales.csv", "rows": 1},
        {"title": "By branch.csv", "rows": 2},
    ]
    assert outcome.output["recipients"] == 2


async def test_a_report_of_one_query_attaches_its_rows(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    await saved_workbook(app, person)
    query = {
        "datasource": "shop",
        "measures": [{"aggregate": "count", "alias": "sales"}],
        "dimensions": ["Branch"],
        "order": [{"name": "Branch"}],
    }
    params = {"query": query, "to": ["ana@example.com"], "subject": "Sales by branch"}
    action = await create_action(app.runtime, person.principal, "report", params)
    given = services(app.runtime, outbound, Mailer(smtp(app.runtime.settings, port)))
    run_id = await new_run(app.runtime, action)
    outcome = await execute(report, app.runtime, action, run_id, person.principal, given)
    assert outcome.status == "succeeded", outcome
    [(_, message)] = handler.messages
    assert message["Subject"] == "Sales by branch"
    assert attachments(message) == {"shop.csv": b"Branch,sales\nA,2\nB,2\n"}


async def test_a_viewer_reports_to_their_own_email_only(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    uploader = await owner(app, Role.UPLOADER, "ana")
    workbook = await saved_workbook(app, uploader)
    viewer = await owner(app, Role.VIEWER, "vic", email="vic@example.com")
    given = services(app.runtime, outbound, Mailer(smtp(app.runtime.settings, port)))

    for to, status in ((["vic@example.com"], "succeeded"), (["boss@example.com"], "failed")):
        params = {"workbook_id": workbook["id"], "to": to}
        action = await create_action(app.runtime, viewer.principal, "report", params)
        run_id = await new_run(app.runtime, action)
        outcome = await execute(report, app.runtime, action, run_id, viewer.principal, given)
        assert outcome.status == status, outcome
    assert [to for to, _ in handler.messages] == [["vic@example.com"]]
    assert outcome.error is not None
    assert outcome.error["message"].startswith("A viewer's report goes only to their own")


async def test_a_report_posts_signed_json_with_the_csvs(app: App, outbound: OutboundClient) -> None:
    person = await owner(app, Role.UPLOADER, "ana")
    workbook = await saved_workbook(app, person)
    secret = new_secret()
    events: list[Any] = []

    def verify(seen: Seen) -> Reply:
        events.append(standardwebhooks.Webhook(secret).verify(seen.body, seen.headers))
        return Reply(204)

    with receiving(verify) as receiver:
        params = {"workbook_id": workbook["id"], "url": receiver.url("/reports")}
        action = await create_action(app.runtime, person.principal, "report", params, secret)
        run_id = await new_run(app.runtime, action)
        given = services(app.runtime, outbound)
        outcome = await execute(report, app.runtime, action, run_id, person.principal, given)

    assert outcome.status == "succeeded", outcome
    [event] = events
    assert event["type"] == "report.ready"
    assert event["data"]["workbook"] == {"id": workbook["id"], "title": "Shop review"}
    first = event["data"]["widgets"][0]
    assert first["csv"].encode() == await dashboard_csv(person, workbook["id"], 0)


async def test_a_retry_sends_only_what_has_not_gone(
    app: App, inbox: tuple[Inbox, int], outbound: OutboundClient
) -> None:
    handler, port = inbox
    person = await owner(app, Role.UPLOADER, "ana")
    workbook = await saved_workbook(app, person)
    answers = [500, 204]
    with receiving(lambda _seen: Reply(answers.pop(0))) as receiver:
        params = {"workbook_id": workbook["id"], "to": ["ana@example.com"], "url": receiver.url()}
        action = await create_action(app.runtime, person.principal, "report", params, new_secret())
        given = services(app.runtime, outbound, Mailer(smtp(app.runtime.settings, port)))
        run_id = await new_run(app.runtime, action)
        first = await execute(report, app.runtime, action, run_id, person.principal, given)
        second = await execute(report, app.runtime, action, run_id, person.principal, given)
        hits = len(receiver.hits)
    assert [a.ok for a in first.attempts] == [True, False] and first.status == "retry"
    assert [a.ok for a in second.attempts] == [True] and second.status == "succeeded"
    assert len(handler.messages) == 1 and hits == 2


async def test_a_report_over_the_size_a_url_takes_is_not_posted(
    app: App, outbound: OutboundClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = await owner(app, Role.UPLOADER, "ana")
    workbook = await saved_workbook(app, person)
    monkeypatch.setattr(report, "MAX_POST", 200)  # the two widgets' JSON is larger
    with receiving(lambda _seen: Reply(204)) as receiver:
        params = {"workbook_id": workbook["id"], "url": receiver.url()}
        action = await create_action(app.runtime, person.principal, "report", params, new_secret())
        run_id = await new_run(app.runtime, action)
        given = services(app.runtime, outbound)
        outcome = await execute(report, app.runtime, action, run_id, person.principal, given)
        assert receiver.hits == []
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["message"].startswith("The report is 0.0 MiB as JSON, over the")
    assert outcome.error["hint"] == "E-mail it instead, or narrow its filters or widgets."


async def test_a_mail_server_down_is_a_retryable_attempt(app: App) -> None:
    mailer = Mailer(smtp(app.runtime.settings, free_port(), smtp_timeout_seconds=2))
    attempt = await mailer.send(["ana@example.com"], "Report", "text", [("a.csv", b"a\n")])
    assert not attempt.ok and attempt.retryable
    assert attempt.error is not None and "could not be reached" in attempt.error


async def test_replies_4xx_are_retried_and_5xx_are_not(app: App, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    mailer = Mailer(smtp(app.runtime.settings, port))
    handler.reply = "451 4.3.0 Try again later"
    later = await mailer.send(["ana@example.com"], "Report", "text", [])
    handler.reply = "550 5.1.1 No such mailbox"
    never = await mailer.send(["ana@example.com"], "Report", "text", [])
    assert (later.status_code, later.retryable, never.status_code, never.retryable) == (
        451,
        True,
        550,
        False,
    )
    assert never.error is not None and "No such mailbox" in never.error
    assert handler.messages == []


async def test_some_addresses_refused_is_said_and_not_sent_again(
    app: App, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    handler.reply, handler.welcome = "550 5.1.1 No such mailbox", {"ana@example.com"}
    mailer = Mailer(smtp(app.runtime.settings, port))
    attempt = await mailer.send(["ana@example.com", "gone@example.com"], "Report", "text", [])
    assert not attempt.ok and not attempt.retryable
    assert [to for to, _ in handler.messages] == [["ana@example.com"]]
    assert attempt.error is not None and "refused gone@example.com (550" in attempt.error


async def test_a_server_without_starttls_is_not_retried_and_says_what_to_set(
    app: App, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    mailer = Mailer(smtp(app.runtime.settings, port, smtp_security="starttls"))
    attempt = await mailer.send(["ana@example.com"], "Report", "text", [])
    assert not attempt.ok and not attempt.retryable and handler.messages == []
    assert attempt.error is not None and "set SMTP_SECURITY" in attempt.error


async def test_without_smtp_host_a_report_is_not_mailed_and_says_why(app: App) -> None:
    attempt = await Mailer(smtp(app.runtime.settings, None)).send(["a@example.com"], "s", "t", [])
    assert not attempt.ok and not attempt.retryable
    assert attempt.error == "Reports cannot be e-mailed: SMTP_HOST is not set."


def test_a_line_break_never_reaches_a_header() -> None:
    built = mail.message(
        "me@example.com",
        ["a@example.com\r\nBcc: x@example.com"],
        "Hi\r\nBcc: y@example.com",
        "t",
        [],
    )
    assert built["Bcc"] is None
    assert "\n" not in str(built["Subject"]) and "\n" not in str(built["To"])

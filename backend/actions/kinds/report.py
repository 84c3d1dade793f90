"""A report: the data of a saved workbook's widgets (or of one query) as CSV, e-mailed (one
message, one attachment per widget) and/or POSTed to a url as signed JSON.

A widget's CSV is made by the calls that serve GET /api/workbooks/{id}/widgets/{i}/data.csv
(widget_data.run_widget, then csv_chunks), with "today" in the owner's time zone, so the figures
and the bytes are the dashboard's. The workbook is read as the owner, its access checked at each
run; a viewer's report goes only to the viewer's own profile e-mail. A channel that delivered is
checkpointed, so a retry sends only what has not gone yet."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import delivery, mail
from backend.actions.delivery import Attempt
from backend.actions.kinds import Outcome, RunContext, event_body, message_id
from backend.actions.schemas import ReportParams
from backend.analytics.budget import Budget, BudgetExceeded
from backend.analytics.query import Query, Result
from backend.analytics.query_input import build_query
from backend.analytics.service import Analytics, CacheTrace
from backend.auth import users
from backend.auth.models import User
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.config_actions import ActionSettings
from backend.db import session_scope
from backend.errors import AppError
from backend.notifications.messages import rows as rows_words
from backend.priority import run_heavy
from backend.workbooks import service as workbooks
from backend.workbooks.documents import Document
from backend.workbooks.widget_data import MAX_ROWS, Runs, csv_chunks, run_widget

EVENT = "report.ready"
MAX_POST = 1024 * 1024  # the JSON a report POSTs, at most
MAX_MAIL = 20 * 1024 * 1024  # a report's attachments, at most (mail servers refuse ~25 MB)
MAILED, POSTED = "mailed", "posted"


@dataclass(frozen=True)
class Part:
    """One CSV of the report: its file name, bytes and rows."""

    title: str
    data: bytes
    rows: int


@dataclass(frozen=True)
class Report:
    name: str
    workbook: dict[str, str] | None
    parts: list[Part]


class ReportError(AppError):
    code = "report_failed"


class Timed:
    """The analytics service as a report uses it: each widget's query within
    QUERY_TIMEOUT_SECONDS (its rows are bounded by ACTIONS_REPORT_MAX_ROWS), counted in the
    engine's latency metric as "report"."""

    def __init__(self, analytics: Analytics, seconds: float) -> None:
        self._analytics = analytics
        self._seconds = seconds

    async def columns(self, name: str) -> dict[str, str]:
        return await self._analytics.columns(name)

    async def run(self, query: Query) -> Result:
        budget = Budget(self._seconds, cells=sys.maxsize, parallel=1)
        return await self._analytics.run(query, CacheTrace(budget=budget), field="report")


def _filters(document: Document, given: dict[str, Any] | None) -> dict[str, Any]:
    """The workbook's filters with the report's over them (days given replace its range)."""
    if not given:
        return dict(document.filters)
    merged = {**document.filters, **given}
    if ("from" in given or "to" in given) and "range" not in given:
        merged.pop("range", None)
    return merged


@dataclass
class Building:
    """The report's parts so far, counted against its bounds as each is made: `max_rows` rows
    over all its widgets (ACTIONS_REPORT_MAX_ROWS) and `max_bytes` of CSV, the size the channel
    `channel` ("url" or "e-mail") takes."""

    max_rows: int
    max_bytes: int
    channel: str
    widgets: int  # the report's widgets (1 for a query)
    parts: list[Part] = field(default_factory=list)
    rows: int = 0
    size: int = 0

    def output(self, recipients: int) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "widgets": [{"title": part.title, "rows": part.rows} for part in self.parts],
            "recipients": recipients,
        }


class ReportBounded(ReportError):
    """The report went past a bound while it was made; `building` holds what was made."""

    def __init__(self, code: str, message: str, hint: str, building: Building) -> None:
        super().__init__(message, hint)
        self.code = code
        self.building = building


def _csv(result: Result, room: int) -> tuple[bytes, int]:
    """The CSV as data.csv sends it (its text pieces, encoded as UTF-8), counted as it is made:
    it stops once past `room` bytes (the bytes are then a beginning only, their count over
    `room`). Runs in a thread: a large result takes a while."""
    pieces: list[bytes] = []
    size = 0
    for chunk in csv_chunks(result):
        piece = chunk.encode("utf-8")
        pieces.append(piece)
        size += len(piece)
        if size > room:
            break
    return b"".join(pieces), size


def _too_many_rows(building: Building, rows: int) -> ReportBounded:
    counted = len(building.parts) + 1
    first = "first widget" if counted == 1 else f"first {counted} widgets"
    where = (
        f"at least {rows:,} rows in its {first} of {building.widgets}"
        if counted < building.widgets
        else f"{rows:,} rows"
    )
    return ReportBounded(
        "report_too_many_rows",
        f"The report has {where}, more than the {building.max_rows:,} rows a report may have "
        "(ACTIONS_REPORT_MAX_ROWS).",
        "Filter the workbook (or the query) to fewer rows, or send fewer widgets.",
        building,
    )


async def add_part(building: Building, title: str, result: Result) -> None:
    """The result's CSV added to the report, unless it takes the report past its rows or bytes
    (ReportBounded, before the CSV is made, or as soon as its bytes pass the bound)."""
    rows = building.rows + len(result.rows)
    if rows > building.max_rows:
        raise _too_many_rows(building, rows)
    data, size = await run_heavy(_csv, result, building.max_bytes - building.size)
    if building.size + size > building.max_bytes:
        found = _too_large(building.size + size, building.channel, building.max_bytes, more=True)
        raise ReportBounded(found["code"], found["message"], found["hint"], building)
    building.parts.append(Part(title, data, len(result.rows)))
    building.rows, building.size = rows, building.size + size


async def workbook_parts(
    session: AsyncSession,
    analytics: Runs,
    owner: Principal,
    params: ReportParams,
    building: Building,
) -> Report:
    """Each widget of the workbook, as its data.csv serves it to the owner."""
    found = await workbooks.get(session, owner, params.workbook_id or "")
    today = await users.today_of(session, owner)
    document = found.model_copy(update={"filters": _filters(found, params.filters)})
    building.widgets = len(document.widgets)
    for index in range(len(document.widgets)):
        widget, result = await run_widget(analytics, document, index, today)
        await add_part(building, f"{widget.title or widget.kind}.csv", result)
    workbook = {"id": found.id, "title": found.title}
    return Report(found.title, workbook, building.parts)


async def query_part(analytics: Runs, params: ReportParams, building: Building) -> Report:
    query = params.query
    assert query is not None  # the schema gives a workbook or a query
    columns = await analytics.columns(query.datasource)
    bounded = query.model_copy(update={"limit": min(query.limit or MAX_ROWS, MAX_ROWS)})
    result = await analytics.run(build_query(bounded, columns))
    await add_part(building, f"{query.datasource}.csv", result)
    return Report(query.datasource, None, building.parts)


async def recipients(
    session: AsyncSession, owner: Principal, params: ReportParams, settings: ActionSettings
) -> list[str]:
    """The addresses the owner may send to now: a viewer only their own profile e-mail; others
    at most ACTIONS_MAX_RECIPIENTS; all at ACTIONS_MAIL_DOMAINS when it is set."""
    if not params.to:
        return []
    limit = settings.actions_max_recipients
    outside = mail.outside_domains(params.to, settings.actions_mail_domains)
    if outside:
        raise ReportError(*mail.domains_refusal(outside, settings.actions_mail_domains))
    if len(params.to) > limit:
        raise ReportError(
            f"The report names {len(params.to)} e-mail addresses; at most {limit} are allowed.",
            "Send it to fewer addresses (a mailing list counts as one).",
        )
    if owner.allows(Role.UPLOADER):
        return list(params.to)
    user = await session.get(User, owner.user) if owner.user else None
    own = (user.email or "").casefold() if user is not None else ""
    if not own or any(address.casefold() != own for address in params.to):
        raise ReportError(
            "A viewer's report goes only to their own e-mail address, as their profile gives it.",
            "Set your e-mail in your profile and send the report to it, or ask an uploader.",
        )
    return list(params.to)


def building_for(ctx: RunContext, params: ReportParams, to: list[str]) -> Building:
    """The bounds of this run's report: a url's (the smaller) while it is still to be posted,
    else e-mail's."""
    posting = params.url is not None and not ctx.run.output.get(POSTED)
    limit, channel = (MAX_POST, "url") if posting or not to else (MAX_MAIL, "e-mail")
    return Building(ctx.services.settings.actions_report_max_rows, limit, channel, widgets=1)


async def gather(ctx: RunContext, params: ReportParams) -> tuple[Report, list[str]]:
    settings = ctx.services.settings
    analytics = Timed(ctx.services.analytics, settings.query_timeout_seconds)
    async with session_scope(ctx.services.read_sessions) as session:
        to = await recipients(session, ctx.owner, params, settings)
        if params.url is not None and not ctx.owner.allows(Role.UPLOADER):
            raise ReportError(
                "Only uploaders and admins may send a report to a url.",
                "Remove the url, or ask an admin for the uploader role.",
            )
        building = building_for(ctx, params, to)
        if params.workbook_id is not None:
            report = await workbook_parts(session, analytics, ctx.owner, params, building)
            return report, to
    return await query_part(analytics, params, building), to


def mail_text(report: Report, at: dt.datetime) -> str:
    lines = [f"The report “{report.name}” of {at:%Y-%m-%d %H:%M} UTC.", ""]
    lines += [f"- {part.title}: {rows_words(part.rows)}" for part in report.parts]
    if not report.parts:
        lines.append("The workbook has no widgets: nothing is attached.")
    return "\n".join(lines) + "\n"


def post_body(ctx: RunContext, report: Report) -> dict[str, Any]:
    widgets = [
        {"title": part.title, "rows": part.rows, "csv": part.data.decode("utf-8")}
        for part in report.parts
    ]
    data = {"action_id": ctx.action.id, "workbook": report.workbook, "widgets": widgets}
    return event_body(EVENT, ctx.now, data)


def _error(code: str, message: str, hint: str) -> dict[str, str]:
    return {"code": code, "message": message, "hint": hint}


def _too_large(
    size: int, channel: str = "url", limit: int = MAX_POST, *, more: bool = False
) -> dict[str, str]:
    """`more`: the report was stopped once past the limit: `size` is what was made by then."""
    what = "JSON" if channel == "url" else "CSV attachments"
    other = "E-mail it instead, or narrow" if channel == "url" else "Narrow"
    mib = f"more than {math.floor(size / 104857.6) / 10:.1f}" if more else f"{size / 1048576:.1f}"
    return _error(
        "report_too_large",
        f"The report is {mib} MiB as {what}, over the "
        f"{limit / 1048576:g} MiB a report sends by {channel}.",
        f"{other} its filters or widgets.",
    )


async def _mail(ctx: RunContext, params: ReportParams, report: Report, to: list[str]) -> Attempt:
    """The message, unless the owner's actions sent ACTIONS_MAILS_PER_HOUR in the last hour
    (then a retryable attempt that sent nothing)."""
    services, action = ctx.services, ctx.action
    held = await mail.held_back(
        services.sessions, services.settings, action.owner_user, action.owner_id, ctx.now
    )
    if held is not None:
        return held
    subject = params.subject or f"Report: {report.name}"
    attachments = [(part.title, part.data) for part in report.parts]
    return await ctx.services.mailer.send(to, subject, mail_text(report, ctx.now), attachments)


async def _post(ctx: RunContext, url: str, body: dict[str, Any]) -> Attempt:
    secret = ctx.action.secret or ""
    return await delivery.post_event(
        ctx.services.outbound, url, secret, message_id(ctx.run.id), body
    )


async def _checkpoint(ctx: RunContext, values: dict[str, Any]) -> None:
    async with ctx.transaction() as session:
        await ctx.checkpoint(session, values)


def _ended(output: dict[str, Any], attempts: list[Attempt]) -> Outcome:
    failed = [a for a in attempts if not a.ok]
    if not failed:
        return Outcome("succeeded", output=output, attempts=attempts)
    first = failed[0]
    held = first.refused and first.retryable  # the hour's e-mails were used up: nothing sent
    error = _error(
        "mail_limit_reached" if held else "delivery_failed",
        first.error or f"The report's delivery answered {first.status_code}.",
        "Send fewer reports by e-mail, or ask an operator to raise ACTIONS_MAILS_PER_HOUR."
        if held
        else "Check the report's addresses and url, and the SMTP settings.",
    )
    status: Literal["retry", "failed"] = "retry" if all(a.retryable for a in failed) else "failed"
    retry_after = max((a.retry_after or 0 for a in failed), default=0) or None
    return Outcome(status, output=output, error=error, attempts=attempts, retry_after=retry_after)


async def send(ctx: RunContext, params: ReportParams, report: Report, to: list[str]) -> Outcome:
    output: dict[str, Any] = {
        "rows": sum(part.rows for part in report.parts),
        "widgets": [{"title": part.title, "rows": part.rows} for part in report.parts],
        "recipients": len(to),
    }
    done = ctx.run.output
    body = post_body(ctx, report) if params.url is not None and not done.get(POSTED) else None
    size = len(json.dumps(body).encode()) if body is not None else 0
    if size > MAX_POST:
        return Outcome("failed", output=output, error=_too_large(size))
    attached = sum(len(part.data) for part in report.parts)
    if to and attached > MAX_MAIL:
        return Outcome("failed", output=output, error=_too_large(attached, "e-mail", MAX_MAIL))
    attempts: list[Attempt] = []
    if to and not done.get(MAILED):
        attempts.append(await _mail(ctx, params, report, to))
        if attempts[-1].ok:
            await _checkpoint(ctx, {MAILED: True})
    if body is not None and params.url is not None:
        attempts.append(await _post(ctx, params.url, body))
        if attempts[-1].ok:
            await _checkpoint(ctx, {POSTED: True})
    return _ended(output, attempts)


async def execute(ctx: RunContext) -> Outcome:
    params = ReportParams.model_validate(ctx.action.params)
    try:
        report, to = await gather(ctx, params)
    except BudgetExceeded:
        seconds = ctx.services.settings.query_timeout_seconds
        message = (
            f"A query of the report took more than the {seconds:g} s of analytics time a "
            "query may have (QUERY_TIMEOUT_SECONDS)."
        )
        hint = "Narrow the workbook's filters or widgets, or ask an operator to raise it."
        return Outcome("failed", error=_error("query_budget_exceeded", message, hint))
    except ReportBounded as exc:
        output = exc.building.output(len(params.to))
        return Outcome(
            "failed", output=output, error=_error(exc.code, exc.message, exc.detail or "")
        )
    except AppError as exc:
        message = (
            exc.message
            if exc.message.endswith(".")
            else f"{exc.message[:1].upper()}{exc.message[1:]}."
        )
        return Outcome("failed", error=_error(exc.code, message, exc.detail or ""))
    return await send(ctx, params, report, to)

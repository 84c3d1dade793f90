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
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.actions import delivery
from backend.actions.delivery import Attempt
from backend.actions.kinds import Outcome, RunContext, event_body, message_id
from backend.actions.schemas import ReportParams
from backend.analytics.query import Result
from backend.analytics.query_input import build_query
from backend.auth import users
from backend.auth.models import User
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import session_scope
from backend.errors import AppError
from backend.notifications.messages import rows as rows_words
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


def _filters(document: Document, given: dict[str, Any] | None) -> dict[str, Any]:
    """The workbook's filters with the report's over them (days given replace its range)."""
    if not given:
        return dict(document.filters)
    merged = {**document.filters, **given}
    if ("from" in given or "to" in given) and "range" not in given:
        merged.pop("range", None)
    return merged


def _bytes(result: Result) -> bytes:
    """The CSV as data.csv sends it (its text pieces, encoded as UTF-8)."""
    return "".join(csv_chunks(result)).encode("utf-8")


async def workbook_parts(
    session: AsyncSession, analytics: Runs, owner: Principal, params: ReportParams
) -> Report:
    """Each widget of the workbook, as its data.csv serves it to the owner."""
    found = await workbooks.get(session, owner, params.workbook_id or "")
    today = await users.today_of(session, owner)
    document = found.model_copy(update={"filters": _filters(found, params.filters)})
    parts = []
    for index in range(len(document.widgets)):
        widget, result = await run_widget(analytics, document, index, today)
        data = _bytes(result)
        parts.append(Part(f"{widget.title or widget.kind}.csv", data, len(result.rows)))
    workbook = {"id": found.id, "title": found.title}
    return Report(found.title, workbook, parts)


async def query_part(analytics: Runs, params: ReportParams) -> Report:
    query = params.query
    assert query is not None  # the schema gives a workbook or a query
    columns = await analytics.columns(query.datasource)
    bounded = query.model_copy(update={"limit": min(query.limit or MAX_ROWS, MAX_ROWS)})
    result = await analytics.run(build_query(bounded, columns))
    data = _bytes(result)
    return Report(query.datasource, None, [Part(f"{query.datasource}.csv", data, len(result.rows))])


async def recipients(
    session: AsyncSession, owner: Principal, params: ReportParams, limit: int
) -> list[str]:
    """The addresses the owner may send to now: a viewer only their own profile e-mail; others
    at most ACTIONS_MAX_RECIPIENTS."""
    if not params.to:
        return []
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


async def gather(ctx: RunContext, params: ReportParams) -> tuple[Report, list[str]]:
    analytics = ctx.services.analytics
    limit = ctx.services.settings.actions_max_recipients
    async with session_scope(ctx.services.read_sessions) as session:
        to = await recipients(session, ctx.owner, params, limit)
        if params.url is not None and not ctx.owner.allows(Role.UPLOADER):
            raise ReportError(
                "Only uploaders and admins may send a report to a url.",
                "Remove the url, or ask an admin for the uploader role.",
            )
        if params.workbook_id is not None:
            return await workbook_parts(session, analytics, ctx.owner, params), to
    return await query_part(analytics, params), to


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


def _too_large(size: int, channel: str = "url", limit: int = MAX_POST) -> dict[str, str]:
    what = "JSON" if channel == "url" else "CSV attachments"
    other = "E-mail it instead, or narrow" if channel == "url" else "Narrow"
    return _error(
        "report_too_large",
        f"The report is {size / 1048576:.1f} MiB as {what}, over the "
        f"{limit / 1048576:g} MiB a report sends by {channel}.",
        f"{other} its filters or widgets.",
    )


async def _mail(ctx: RunContext, params: ReportParams, report: Report, to: list[str]) -> Attempt:
    subject = params.subject or f"Report: {report.name}"
    attachments = [(part.title, part.data) for part in report.parts]
    return await ctx.services.mailer.send(to, subject, mail_text(report, ctx.now), attachments)


async def _post(ctx: RunContext, url: str, body: dict[str, Any]) -> Attempt:
    secret = ctx.action.secret or ""
    return await delivery.post_event(
        ctx.services.outbound, url, secret, message_id(ctx.run.id), body
    )


async def _checkpoint(ctx: RunContext, values: dict[str, Any]) -> None:
    async with session_scope(ctx.services.sessions) as session:
        await ctx.checkpoint(session, values)


def _ended(output: dict[str, Any], attempts: list[Attempt]) -> Outcome:
    failed = [a for a in attempts if not a.ok]
    if not failed:
        return Outcome("succeeded", output=output, attempts=attempts)
    first = failed[0]
    error = _error(
        "delivery_failed",
        first.error or f"The report's delivery answered {first.status_code}.",
        "Check the report's addresses and url, and the SMTP settings.",
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
    except AppError as exc:
        message = (
            exc.message
            if exc.message.endswith(".")
            else f"{exc.message[:1].upper()}{exc.message[1:]}."
        )
        return Outcome("failed", error=_error(exc.code, message, exc.detail or ""))
    return await send(ctx, params, report, to)

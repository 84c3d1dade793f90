"""The sentences a notification says, from what happened."""

from __future__ import annotations

from typing import Any

from backend.notifications.models import MAX_BODY, MAX_TITLE

_QUOTED_TITLE = 120
_REASON = 300


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clause(text: str) -> str:
    """A reason as the end of a sentence: one line, without its own full stop."""
    return clip(" ".join(text.split()).rstrip(". "), _REASON)


def rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def upload_succeeded(filename: str, datasource: str, loaded: int | None) -> str:
    what = f"{rows(loaded or 0)} loaded"
    return clip(f"Your upload {filename} into {datasource} succeeded: {what}.", MAX_TITLE)


def upload_skipped(rejected: int | None) -> str | None:
    if not rejected:
        return None
    return f"{rows(rejected)} that did not pass the checks were skipped."


def upload_failed(filename: str, datasource: str, error: dict[str, Any] | None) -> str:
    reason = str((error or {}).get("message") or "")
    ending = f": {_clause(reason)}." if reason.strip() else "."
    return clip(f"Your upload {filename} into {datasource} failed{ending}", MAX_TITLE)


def failure_detail(error: dict[str, Any] | None) -> str | None:
    detail = str((error or {}).get("detail") or "").strip()
    return clip(detail, MAX_BODY) if detail else None


def workbook_shared(actor: str, title: str) -> str:
    quoted = clip(title, _QUOTED_TITLE)
    return clip(f"{actor} shared the workbook “{quoted}” with you.", MAX_TITLE)


def workbook_changed(actor: str, title: str, changed: list[str]) -> tuple[str, str | None]:
    quoted = clip(title, _QUOTED_TITLE)
    body = f"Changed: {', '.join(changed)}." if changed else None
    return clip(f"{actor} changed the workbook “{quoted}”.", MAX_TITLE), body


def figure(value: float | None) -> str:
    """A measure's value as a person reads it: thousands grouped, at most two decimals."""
    if value is None:
        return "no value"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def alert_fired(name: str, measure: str, window: str, value: float, condition: str) -> str:
    """An alert's change to firing: `window` is already in words ("yesterday (2026-12-04)"),
    `condition` ends the sentence ("is below 1,000")."""
    quoted = clip(name, _QUOTED_TITLE)
    return clip(
        f"Your alert “{quoted}” fired: {measure} for {window} is {figure(value)}, {condition}.",
        MAX_TITLE,
    )


def action_failed(name: str, reason: str) -> str:
    """An action's run failed after its last one did not ("Your action “Pull sales” failed:
    The address answered HTTP 404.")."""
    quoted = clip(name, _QUOTED_TITLE)
    return clip(f"Your action “{quoted}” failed: {reason}", MAX_TITLE)

"""The webhook kind: POST the run's event as JSON to the action's URL, signed as the Standard
Webhooks specification says. The body is the same on every retry (its timestamp is the run's
creation); the signature is made afresh each time, under the run's one `webhook-id`."""

from __future__ import annotations

import json
from typing import Any

from backend.actions.delivery import Attempt, post_event
from backend.actions.kinds import Outcome, RunContext, event_body, message_id

# The largest body sent; an event's payload is small (backend.events.outbox caps its keys).
MAX_BODY_BYTES = 64 * 1024


def body_for(ctx: RunContext) -> dict[str, Any]:
    """An event's payload typed by the event; a manual or scheduled run says which run it is."""
    given = dict(ctx.run.input or {})
    kind = given.pop("event", None)
    if isinstance(kind, str) and kind:
        data = _absolute(given, ctx.services.settings.public_url)
    else:
        kind = f"action.{ctx.run.trigger}"
        data = {
            "action": {"id": ctx.action.id, "name": ctx.action.name},
            "run": {
                "id": ctx.run.id,
                "trigger": ctx.run.trigger,
                "scheduled_for": _iso(ctx.run.scheduled_for),
            },
        }
    return event_body(kind, ctx.run.created_at, data)


def _absolute(data: dict[str, Any], public_url: str | None) -> dict[str, Any]:
    """An event's links as the receiver can follow them: the service's PUBLIC_URL before its
    paths (left as paths when PUBLIC_URL is not set)."""
    link = data.get("report_url")
    if public_url and isinstance(link, str) and link.startswith("/"):
        return {**data, "report_url": public_url.rstrip("/") + link}
    return data


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def execute(ctx: RunContext) -> Outcome:
    url = str(ctx.action.params.get("url") or "")
    if not url or not ctx.action.secret:
        return _failed(
            "misconfigured",
            "The webhook has no URL or no signing secret.",
            "Set its url, or rotate its secret, then run it again.",
        )
    body = body_for(ctx)
    if len(json.dumps(body, separators=(",", ":"), default=str)) > MAX_BODY_BYTES:
        return _failed(
            "too_large",
            f"The event is over {MAX_BODY_BYTES // 1024} KB, the most a webhook sends.",
            "Send a smaller event, or fetch the details from the API.",
        )
    attempt = await post_event(
        ctx.services.outbound, url, ctx.action.secret, message_id(ctx.run.id), body
    )
    return outcome_of(attempt)


def outcome_of(attempt: Attempt) -> Outcome:
    """Succeeded on 2xx, retried when the failure may pass, failed otherwise."""
    output: dict[str, Any] = {"http_status": attempt.status_code, "latency_ms": attempt.latency_ms}
    if attempt.ok:
        return Outcome("succeeded", output=output, attempts=[attempt])
    error = {
        "code": "refused" if attempt.refused else "delivery_failed",
        "message": attempt.error or f"The answer was HTTP {attempt.status_code}.",
        "hint": _hint(attempt),
    }
    return Outcome(
        "retry" if attempt.retryable else "failed",
        output=output,
        error=error,
        attempts=[attempt],
        retry_after=attempt.retry_after,
    )


def _hint(attempt: Attempt) -> str:
    if attempt.refused:
        return "Use a public URL, or ask an operator to name the host in ACTIONS_ALLOWED_HOSTS."
    if attempt.retryable:
        return "Nothing to do: it is sent again later, with the same webhook-id."
    return "Check the URL and that the receiver accepts the signature, then send it again."


def _failed(code: str, message: str, hint: str) -> Outcome:
    return Outcome("failed", error={"code": code, "message": message, "hint": hint})

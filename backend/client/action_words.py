"""Actions and their runs as a person reads them: triggers in words, times without their
microseconds, deliveries as "200 in 12 ms"."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rich.console import Console

from backend.client.output import printable


def moment(value: str | None) -> str:
    """A time the service answered (ISO 8601), to the second, with its offset when not UTC."""
    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    said = when.strftime("%Y-%m-%d %H:%M:%S")
    offset = when.utcoffset()
    if offset is None or offset == dt.timedelta(0):
        return said + (" UTC" if offset is not None else "")
    return f"{said} {when.strftime('%z')[:3]}:{when.strftime('%z')[3:]}"


def trigger_words(trigger: dict[str, Any]) -> str:
    """One trigger: the schedule in the service's words, "run by hand", or the event."""
    if trigger["type"] == "schedule":
        return str(trigger.get("words") or f"{trigger['cron']} ({trigger['timezone']})")
    if trigger["type"] == "event":
        where = f" in {trigger['datasource']}" if trigger.get("datasource") else ""
        return f"on {trigger['event']}{where}"
    return "run by hand"


def triggers_cell(action: dict[str, Any]) -> str:
    return "; ".join(trigger_words(t) for t in action["triggers"]) or "none"


def last_run_cells(action: dict[str, Any]) -> tuple[str, str]:
    run = action.get("last_run")
    if not run:
        return "never run", ""
    return run["status"], moment(run.get("finished_at") or run["created_at"])


def delivery_words(delivery: dict[str, Any]) -> str:
    """One delivery attempt: "200 in 12 ms", "refused: <why>", "no answer: <why>"."""
    latency = delivery.get("latency_ms")
    took = f" in {latency:,.0f} ms" if latency is not None else ""
    if delivery.get("refused"):
        return f"refused: {printable(delivery.get('error') or 'the destination is not allowed')}"
    if delivery.get("status_code") is not None:
        return f"{delivery['status_code']}{took}"
    return f"no answer{took}: {printable(delivery.get('error') or 'no reason given')}"


def deliveries_cell(run: dict[str, Any]) -> str:
    log = run.get("delivery_log") or []
    return "; ".join(f"#{d['attempt']} {delivery_words(d)}" for d in log) or "none"


def error_words(error: dict[str, Any] | None) -> list[str]:
    """A run's error: its message, then what to do when the service says it."""
    if not error:
        return []
    said = [str(error.get("message") or error.get("error") or json.dumps(error))]
    hint = error.get("hint") or error.get("detail")
    if hint:
        said.append(str(hint))
    return [printable(line) for line in said]


def describe_action(action: dict[str, Any], out: Console) -> None:
    """`actions show`: the action, its triggers with their next times, its last run."""
    state = "enabled" if action["enabled"] else "disabled"
    out.print(f"{action['name']} ({action['kind']}, {state}): action {action['id']}")
    out.print(f"owner: {action['owner']}; created {moment(action['created_at'])}")
    for trigger in action["triggers"]:
        out.print(f"trigger: {trigger_words(trigger)}")
        for when in trigger.get("next_times") or []:
            out.print(f"  next: {moment(when)}")
    if action.get("secret_hint"):
        out.print(f"signing secret: ends with {action['secret_hint']}")
    out.print(f"params: {json.dumps(action['params'], sort_keys=True)}")
    run = action.get("last_run")
    if run:
        describe_run(run, out, prefix="last run: ")
    else:
        out.print("last run: none yet (`sales-ingest actions run ID` runs it now)")


def describe_run(run: dict[str, Any], out: Console, prefix: str = "") -> None:
    """A run's outcome: its status and times, output, error and each delivery."""
    ended = f", ended {moment(run['finished_at'])}" if run.get("finished_at") else ""
    out.print(
        f"{prefix}{run['status']}: run {run['id']} ({run['trigger']}, "
        f"created {moment(run['created_at'])}{ended})"
    )
    if run.get("output"):
        out.print(f"  output: {json.dumps(run['output'], sort_keys=True)}")
    for number, line in enumerate(error_words(run.get("error"))):
        out.print(f"  error: {line}" if number == 0 else f"    {line}")
    for delivery in run.get("delivery_log") or []:
        out.print(
            f"  delivery #{delivery['attempt']} to {delivery['target']}: {delivery_words(delivery)}"
        )

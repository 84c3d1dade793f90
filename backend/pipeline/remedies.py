"""Advice as data: an action that would get a file loaded (or a task done), kept as a remedy
`{"action": ..., "options": {...}}` on an upload's answer, a failed task's error or an error
answer, and worded by each door in its own terms: REST names its form fields (force=true),
GraphQL its arguments (force: true), the CLI its flags and the app shows a button."""

from __future__ import annotations

import enum
from typing import Any


class Action(enum.StrEnum):
    FORCE = "force"  # load the same bytes again
    SKIP_INVALID = "skip_invalid"  # load the valid rows, keep the invalid ones aside
    EVOLVE = "evolve"  # let the file change an inferred datasource's schema
    RETRY = "retry"  # run the same task again (an outage: it may go through this time)


class Door(enum.StrEnum):
    REST = "rest"
    GRAPHQL = "graphql"


Remedy = dict[str, Any]

# Failures a retry of the same task may get through: the disk, the storage or the engine was
# away or broke. A file's own problems (its rows, columns or format) fail again.
RETRYABLE_CODES = frozenset({"disk_full", "internal_error", "druid_failed", "worker_died"})


def remedy(action: Action, **options: Any) -> Remedy:
    """A remedy as stored and answered: the action and the upload options that carry it out."""
    return {"action": action.value, "options": options}


def force() -> Remedy:
    return remedy(Action.FORCE, force=True)


def skip_invalid() -> Remedy:
    return remedy(Action.SKIP_INVALID, on_invalid="skip")


def evolve(kinds: list[str]) -> Remedy:
    """`kinds`: add_columns and/or widen."""
    return remedy(Action.EVOLVE, evolve=",".join(kinds))


def retry() -> Remedy:
    return remedy(Action.RETRY)


def of_error(error: dict[str, Any] | None) -> list[Remedy]:
    """A failed task's remedies: those it was stored with, and a retry where one may help
    (known from the failure's code, so tasks failed before remedies were kept get it too)."""
    if not error:
        return []
    found = [r for r in error.get("remedies") or [] if r.get("action") in set(Action)]
    if error.get("code") in RETRYABLE_CODES and all(r["action"] != Action.RETRY for r in found):
        found.append(retry())
    return found


def words(item: Remedy, door: Door) -> str:
    """The remedy as one sentence in `door`'s terms."""
    action = Action(item["action"])
    value = str(item.get("options", {}).get("evolve", "add_columns"))
    if door is Door.GRAPHQL:
        return _GRAPHQL[action].format(evolve=value.upper().replace(",", ", "))
    return _REST[action].format(evolve=value)


_REST = {
    Action.FORCE: "To load the same file again anyway, send it with force=true.",
    Action.SKIP_INVALID: "To load the valid rows only, upload again with on_invalid=skip.",
    Action.EVOLVE: "To load it with the schema changed, upload again with evolve={evolve}.",
    Action.RETRY: "Retry the task later with POST /api/ingest/tasks/ID/retry.",
}
_GRAPHQL = {
    Action.FORCE: "To load the same file again anyway, call reloadIngestionTask with "
    "force: true (or uploadSalesData with force: true).",
    Action.SKIP_INVALID: "To load the valid rows only, call reloadIngestionTask with "
    "onInvalid: SKIP.",
    Action.EVOLVE: "To load it with the schema changed, call reloadIngestionTask with "
    "evolve: [{evolve}].",
    Action.RETRY: "Retry the task later with the retryIngestionTask mutation.",
}


def detail(plain: str | None, remedies: list[Remedy], door: Door) -> str | None:
    """A failure's advice for `door`: a retry first, then its own words, then the others."""
    first = [words(r, door) for r in remedies if r["action"] == Action.RETRY]
    rest = [words(r, door) for r in remedies if r["action"] != Action.RETRY]
    return " ".join([*first, *([plain] if plain else []), *rest]) or None

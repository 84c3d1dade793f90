"""The service's advice in the CLI's terms: a remedy (`{"action": ..., "options": ...}` on an
upload's answer or a failed task's error) becomes the flag to add to the same command."""

from __future__ import annotations

from typing import Any

_SAID = {
    "force": "To load the same file again anyway, run the command again with --force.",
    "skip_invalid": "To load the valid rows only, run the command again with --on-invalid skip.",
    "evolve": "To load it with the schema changed, run the command again with {flags}.",
    "retry": "Run the same command again later: it may go through then.",
}


def words(remedy: dict[str, Any]) -> str | None:
    """One remedy as a sentence naming the flags (None: an action this client does not know)."""
    said = _SAID.get(str(remedy.get("action")))
    if said is None:
        return None
    kinds = str((remedy.get("options") or {}).get("evolve") or "add_columns").split(",")
    return said.format(flags=" ".join(f"--evolve {kind.strip()}" for kind in kinds))


def advice(remedies: list[dict[str, Any]] | None) -> list[str]:
    """Each remedy the CLI can word, once."""
    said = [words(r) for r in remedies or []]
    return list(dict.fromkeys(s for s in said if s))


def error_lines(error: dict[str, Any]) -> list[str]:
    """A failed task's advice: the service's own words without its REST terms, then the flags
    (an error from a service without remedies: its detail as it is)."""
    if "remedies" not in error or error.get("remedies") is None:
        return [error["detail"]] if error.get("detail") else []
    plain = error.get("plain_detail")
    return ([plain] if plain else []) + advice(error["remedies"])


def duplicate_message(accepted: dict[str, Any]) -> str:
    """An upload answered as a duplicate, with what to do in this client's terms."""
    if not accepted.get("duplicate") or "remedies" not in accepted:
        return str(accepted["message"])
    said = (
        f"these bytes were already uploaded to datasource {accepted['datasource']!r} as task "
        f"{accepted['task_id']} ({accepted['status']}): nothing new was queued."
    )
    return " ".join([said, *advice(accepted["remedies"])])

"""The service's advice in the CLI's terms: a remedy (`{"action": ..., "options": ...}` on an
upload's answer or a failed task's error) becomes the flag to add to the same command, and the
REST words of the service's sentences (dry_run=true, datasource_name, overrides.types, GET
/api/ingest/tasks) become this client's flags and commands."""

from __future__ import annotations

import re
from typing import Any

_SAID = {
    "force": "To load the same file again anyway, run the command again with --force.",
    "skip_invalid": "To load the valid rows only, run the command again with --on-invalid skip.",
    "evolve": "To load it with the schema changed, run the command again with {flags}.",
    "retry": "Run the same command again later: it may go through then.",
}
# `confirm` keeps the schema changes its preview was uploaded with (it takes no --evolve).
_EVOLVE_ON_CONFIRM = (
    "To load it with the schema changed, preview the file again with sales-ingest upload FILE "
    "--datasource NAME --preview {flags}, then confirm that preview (confirm keeps the "
    "schema changes of its upload)."
)
# Commands that upload nothing themselves (status, tasks): the flags go on a new upload.
_ELSEWHERE = {
    "force": "To load the same file again anyway, upload it again with --force.",
    "skip_invalid": "To load the valid rows only, upload the file again with --on-invalid skip.",
    "evolve": "To load it with the schema changed, upload the file again with {flags}.",
}
SENDING = frozenset({"upload", "confirm"})
# The commands whose service sentences are about uploads (actions have words of their own).
_WORDED = SENDING | {"status", "tasks"}

# The service's REST words, and this client's (the most specific first).
_REST_WORDS = (
    (
        "Upload the file with dry_run=true, wait until its task succeeded, then confirm it.",
        "Preview the file with sales-ingest upload FILE --datasource NAME --preview, then "
        "confirm the task it prints.",
    ),
    ("dry_run=true", "--preview"),
    ("list tasks at GET /api/ingest/tasks", "list tasks with sales-ingest tasks"),
    ("Send another name in overrides.rename.", "Give another name with --rename."),
    ("in the same request", "in the same command"),
    ("overrides.time_column", "--time-column"),
    ("overrides.types", "--type"),
    ("overrides.rename", "--rename"),
    ("overrides.drop", "--drop"),
    ("(datasource_name)", "(--datasource)"),
    ("as the preview's source_name gives them", "as the preview's 'from' column gives them"),
)
_RESEND = re.compile(r"re-send with evolve=([a-z_,]+)")
_REJECTED = "(or download the rejected rows)"


def in_cli_words(text: str, command: str = "upload") -> str:
    """A sentence of the service with its REST words said as `command`'s flags."""
    if command not in _WORDED:
        return text
    for rest, cli in _REST_WORDS:
        text = text.replace(rest, cli)
    text = _RESEND.sub(lambda found: _evolve_again(found.group(1), command), text)
    if command in SENDING:
        text = text.replace(_REJECTED, "(or write the rejected rows to a file with --rejected)")
    return text


def _evolve_again(kinds: str, command: str) -> str:
    flags = " ".join(f"--evolve {kind.strip()}" for kind in kinds.split(","))
    if command == "confirm":
        return f"preview the file again with sales-ingest upload --preview {flags}"
    if command == "upload":
        return f"run the command again with {flags}"
    return f"upload the file again with {flags}"


def words(remedy: dict[str, Any], command: str = "upload") -> str | None:
    """One remedy as a sentence naming the flags of `command` (None: an action this client does
    not know)."""
    action = str(remedy.get("action"))
    said = _SAID.get(action)
    if command == "confirm" and action == "evolve":
        said = _EVOLVE_ON_CONFIRM
    elif command not in SENDING:
        said = _ELSEWHERE.get(action, said)
    if said is None:
        return None
    kinds = str((remedy.get("options") or {}).get("evolve") or "add_columns").split(",")
    return said.format(flags=" ".join(f"--evolve {kind.strip()}" for kind in kinds))


def advice(remedies: list[dict[str, Any]] | None, command: str = "upload") -> list[str]:
    """Each remedy the CLI can word, once."""
    said = [words(r, command) for r in remedies or []]
    return list(dict.fromkeys(s for s in said if s))


def error_lines(error: dict[str, Any], command: str = "upload") -> list[str]:
    """A failed task's advice: the service's own words without its REST terms, then the flags
    (an error from a service without remedies: its detail as it is)."""
    if "remedies" not in error or error.get("remedies") is None:
        return [in_cli_words(error["detail"], command)] if error.get("detail") else []
    plain = error.get("plain_detail")
    return ([in_cli_words(plain, command)] if plain else []) + advice(error["remedies"], command)


def duplicate_message(accepted: dict[str, Any], command: str = "upload") -> str:
    """An upload answered as a duplicate, with what to do in this client's terms."""
    if not accepted.get("duplicate") or "remedies" not in accepted:
        return str(accepted["message"])
    said = (
        f"these bytes were already uploaded to datasource {accepted['datasource']!r} as task "
        f"{accepted['task_id']} ({accepted['status']}): nothing new was queued."
    )
    return " ".join([said, *advice(accepted["remedies"], command)])

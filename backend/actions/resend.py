"""What "send again" sends: a run's delivery once more, never its work. An import fetches and a
alert evaluates only when they run; a webhook's event, a fired alert's call and a report's
messages are what may be sent again."""

from __future__ import annotations

from typing import Any

from backend.actions.kinds.report import MAILED, POSTED
from backend.actions.models import Action, ActionKind, ActionRun
from backend.errors import Conflict


def output_to_send_again(action: Action, run: ActionRun) -> dict[str, Any] | None:
    """The output the run goes back to the queue with (a report's channels marked unsent, so
    both go again); Conflict with what to do instead when the run sent nothing to repeat."""
    output = dict(run.output or {})
    kind = ActionKind(action.kind)
    if kind is ActionKind.IMPORT:
        raise Conflict(
            "An import's run fetches files; there is nothing to send again.",
            "Run the action now to fetch what is new.",
        )
    if kind is ActionKind.ALERT and not (output.get("fired") and (action.params or {}).get("url")):
        raise Conflict(
            "This run of the alert called no address (it did not fire, or the alert has no "
            "url), so there is nothing to send again.",
            "Run the action now to evaluate it again.",
        )
    if kind is ActionKind.REPORT:
        output.pop(MAILED, None)
        output.pop(POSTED, None)
    return output or None

"""A report sent again sends its messages again: its channels are marked unsent."""

from __future__ import annotations

from backend.actions.models import Action, ActionRun
from backend.actions.resend import output_to_send_again


def test_a_reports_channels_go_again() -> None:
    action = Action(kind="report", params={"workbook_id": "w", "to": ["a@example.com"]})
    run = ActionRun(output={"mailed": True, "posted": True, "rows": 3})
    assert output_to_send_again(action, run) == {"rows": 3}

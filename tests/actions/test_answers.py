"""A run's answer says what started it: an event run names its event and the task it was about
(found by a new analyst: a run history could only say "on an event")."""

from __future__ import annotations

import datetime as dt

from backend.actions.answers import run_out
from backend.actions.models import ActionRun

AT = dt.datetime(2026, 12, 5, 8, tzinfo=dt.UTC)


def _run(trigger: str, given: dict[str, object] | None) -> ActionRun:
    return ActionRun(
        id="r1", action_id="a1", trigger=trigger, trigger_key=f"{trigger}:1", status="succeeded",
        attempts=1, deliveries=1, input=given, created_at=AT,
    )  # fmt: skip


def test_an_event_run_names_its_event_and_task() -> None:
    payload = {"event": "task.failed", "task_id": "t1", "datasource": "sales",
               "filename": "bad.csv", "rows_read": 3, "error": {"code": "invalid_rows"}}  # fmt: skip
    assert run_out(_run("event", payload)).event == {
        "type": "task.failed",
        "task_id": "t1",
        "datasource": "sales",
        "filename": "bad.csv",
    }
    assert run_out(_run("manual", None)).event is None

"""A 422 names the field as the client sent it: not the member pydantic picked from a tagged
union (found by a new analyst: "triggers.0.event.event")."""

from __future__ import annotations

from pydantic import ValidationError

from backend.actions.schemas import ActionIn
from backend.api.errors import problems


def test_a_triggers_field_is_named_without_its_unions_tag() -> None:
    body = {
        "name": "hook",
        "kind": "webhook",
        "params": {"url": "https://hooks.example.com/x"},
        "triggers": [{"type": "event", "event": "moon.rose"}],
    }
    try:
        ActionIn.model_validate(body)
    except ValidationError as exc:
        located = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        said = problems(located)
    else:
        raise AssertionError("moon.rose is not an event")
    assert said.startswith("triggers.0.event should be "), said
    assert "event.event" not in said

"""What the API takes for an action: every parameter checked when the action is made, so an
action that could never run is refused with a sentence rather than failing at its first run."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.actions.schemas import ActionIn


def alert(**params: object) -> dict[str, object]:
    return {
        "name": "Quiet day",
        "kind": "alert",
        "params": {
            "datasource": "sales",
            "measure": {"aggregate": "sum", "column": "Total"},
            "condition": {"op": "below", "value": 1000},
            **params,
        },
    }


def test_an_alert_in_a_time_zone_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValidationError, match="'Berlin' is not a time zone: give an IANA name"):
        ActionIn.model_validate(alert(timezone="Berlin"))
    assert ActionIn.model_validate(alert(timezone="Europe/Berlin")).params["timezone"] == (
        "Europe/Berlin"
    )

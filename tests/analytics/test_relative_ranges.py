"""Relative date ranges as the web app keeps them in its URL and in saved workbooks
("last-30-days", "previous-quarter"): the days each covers from a given today, at the edges of
months, quarters and years, and across leap days (the same as frontend/src/pages/dashboard/
relativeRange.ts)."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.analytics.periods import relative_days

D = dt.date


@pytest.mark.parametrize(
    ("name", "today", "days"),
    [
        ("last-7-days", D(2026, 12, 4), (D(2026, 11, 28), D(2026, 12, 4))),
        ("last-30-days", D(2026, 12, 4), (D(2026, 11, 5), D(2026, 12, 4))),
        ("last-90-days", D(2026, 12, 4), (D(2026, 9, 6), D(2026, 12, 4))),
        ("last-7-days", D(2024, 3, 1), (D(2024, 2, 24), D(2024, 3, 1))),
        ("last-7-days", D(2024, 1, 3), (D(2023, 12, 28), D(2024, 1, 3))),
        ("this-month", D(2026, 12, 1), (D(2026, 12, 1), D(2026, 12, 1))),
        ("previous-month", D(2024, 3, 31), (D(2024, 2, 1), D(2024, 2, 29))),
        ("previous-month", D(2023, 3, 15), (D(2023, 2, 1), D(2023, 2, 28))),
        ("previous-month", D(2027, 1, 1), (D(2026, 12, 1), D(2026, 12, 31))),
        ("this-quarter", D(2026, 5, 20), (D(2026, 4, 1), D(2026, 5, 20))),
        ("previous-quarter", D(2026, 2, 10), (D(2025, 10, 1), D(2025, 12, 31))),
        ("previous-quarter", D(2024, 4, 1), (D(2024, 1, 1), D(2024, 3, 31))),
        ("year-to-date", D(2026, 12, 4), (D(2026, 1, 1), D(2026, 12, 4))),
        ("previous-year", D(2025, 2, 28), (D(2024, 1, 1), D(2024, 12, 31))),
        ("all-time", D(2026, 12, 4), (None, None)),
    ],
)
def test_a_relative_range_covers_these_days(
    name: str, today: dt.date, days: tuple[dt.date | None, dt.date | None]
) -> None:
    assert relative_days(name, today) == days


def test_an_unknown_range_is_none() -> None:
    assert relative_days("last-week", D(2026, 12, 4)) is None

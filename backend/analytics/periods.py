"""Periods of a granularity: the start of the one holding a moment, and every start in a range
(the trend answers each, with or without sales)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from backend.analytics.errors import BadRange
from backend.analytics.query import Granularity

_STEP: dict[Granularity, Callable[[dt.datetime], dt.datetime]] = {
    Granularity.HOUR: lambda t: t + dt.timedelta(hours=1),
    Granularity.DAY: lambda t: t + dt.timedelta(days=1),
    Granularity.WEEK: lambda t: t + dt.timedelta(weeks=1),
    Granularity.MONTH: lambda t: _add_months(t, 1),
    Granularity.QUARTER: lambda t: _add_months(t, 3),
    Granularity.YEAR: lambda t: _add_months(t, 12),
}


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1, day=1)


def truncate(moment: dt.datetime, granularity: Granularity) -> dt.datetime:
    base = moment.replace(minute=0, second=0, microsecond=0)
    if granularity is Granularity.HOUR:
        return base
    base = base.replace(hour=0)
    if granularity is Granularity.DAY:
        return base
    if granularity is Granularity.WEEK:
        return base - dt.timedelta(days=base.weekday())
    month = {Granularity.MONTH: base.month, Granularity.QUARTER: (base.month - 1) // 3 * 3 + 1}.get(
        granularity, 1
    )
    return base.replace(month=month, day=1)


def periods(start: dt.datetime, end: dt.datetime, granularity: Granularity) -> list[dt.datetime]:
    """Every period start from the one holding `start` up to (not including) `end`."""
    found, moment = [], truncate(start, granularity)
    while moment < end:
        found.append(moment)
        moment = _STEP[granularity](moment)
        if len(found) > 100_000:
            raise BadRange(
                "the period is too long for this granularity", "Choose a coarser granularity."
            )
    return found


def _month(year: int, month: int) -> dt.date:
    """The first day of a month counted from January of `year` (month 0 is December before)."""
    index = year * 12 + month - 1
    return dt.date(index // 12, index % 12 + 1, 1)


def relative_days(name: str, today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
    """The days (both included) of a relative range as the web app names it ("last-30-days",
    "previous-quarter", ...; frontend/src/pages/dashboard/relativeRange.ts) seen from `today`;
    (None, None) for "all-time", None for a name it does not know."""
    year, month, day = today.year, today.month, dt.timedelta(days=1)
    quarter = (month - 1) // 3 * 3 + 1
    ranges: dict[str, tuple[dt.date | None, dt.date | None]] = {
        "yesterday": (today - day, today - day),
        "last-7-days": (today - 6 * day, today),
        "last-30-days": (today - 29 * day, today),
        "last-90-days": (today - 89 * day, today),
        "this-month": (_month(year, month), today),
        "previous-month": (_month(year, month - 1), _month(year, month) - day),
        "this-quarter": (_month(year, quarter), today),
        "previous-quarter": (_month(year, quarter - 3), _month(year, quarter) - day),
        "year-to-date": (_month(year, 1), today),
        "previous-year": (_month(year - 1, 1), _month(year, 1) - day),
        "all-time": (None, None),
    }
    return ranges.get(name)

"""A schedule as people read it: in words, with its next times (what the form shows as you type)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backend.actions import cron

NEXT_TIMES = 5


@dataclass(frozen=True)
class ScheduleWords:
    words: str
    next: list[dt.datetime]


def describe(expression: str, timezone: str, now: dt.datetime | None = None) -> ScheduleWords:
    """The schedule in words and its next five times; ValueError (a sentence) when the cron
    expression or the time zone cannot be read."""
    schedule = cron.check(expression, timezone)
    when = now or dt.datetime.now(dt.UTC)
    return ScheduleWords(cron.words(schedule), cron.next_times(schedule, when, NEXT_TIMES))

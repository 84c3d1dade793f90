"""Schedules: a cron expression (5 fields, or 6 with seconds first) in a time zone, read by
cronsim (Debian cron's rules, daylight saving time included)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from itertools import islice

from cronsim import CronSim, CronSimError

MAX_EXPRESSION = 120
_SECOND = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def check(cron: str, timezone: str) -> Schedule:
    """The schedule, or ValueError with a sentence saying what is wrong."""
    expression = " ".join(cron.split())
    if not expression or len(expression) > MAX_EXPRESSION:
        raise ValueError(
            f"A schedule is a cron expression of 5 fields (minute hour day month weekday), at "
            f"most {MAX_EXPRESSION} characters, such as '0 8 * * 1-5'."
        )
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{timezone[:64]!r} is not a time zone: give an IANA name such as Europe/Berlin or UTC."
        ) from None
    try:
        CronSim(expression, dt.datetime.now(zone))
    except (CronSimError, ValueError) as exc:
        reason = str(exc).rstrip(".").lower() or "it cannot be read"
        raise ValueError(
            f"The schedule {expression!r} is not a cron expression ({reason}): give 5 fields, "
            "minute hour day month weekday, such as '0 8 * * 1-5'."
        ) from None
    return Schedule(expression, timezone)


def latest_due(schedule: Schedule, now: dt.datetime) -> dt.datetime:
    """The latest time at or before `now` the schedule names, in UTC."""
    local = now.astimezone(schedule.zone).replace(microsecond=0) + _SECOND
    due = next(CronSim(schedule.cron, local, reverse=True))
    return due.astimezone(dt.UTC)


def next_times(schedule: Schedule, now: dt.datetime, count: int = 5) -> list[dt.datetime]:
    """The next `count` times after `now`, in the schedule's time zone."""
    local = now.astimezone(schedule.zone).replace(microsecond=0)
    return list(islice(CronSim(schedule.cron, local), count))


def shortest_gap(schedule: Schedule, now: dt.datetime, count: int = 12) -> dt.timedelta:
    """The shortest time between two of the schedule's next `count` times (a day when it has
    fewer than two)."""
    times = [time.astimezone(dt.UTC) for time in next_times(schedule, now, count)]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    return min(gaps, default=dt.timedelta(days=1))


def span(seconds: int) -> str:
    """A time in words: "1 second", "5 minutes", "2 hours"."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def words(schedule: Schedule) -> str:
    """The schedule as a sentence ("At 08:30 on Monday through Friday, Europe/Berlin time")."""
    try:
        said = CronSim(schedule.cron, dt.datetime.now(schedule.zone)).explain()
    except (CronSimError, ValueError):  # explain() does not know every form: say the fields
        said = f"On the schedule {schedule.cron}"
    return f"{said}, {schedule.timezone} time"

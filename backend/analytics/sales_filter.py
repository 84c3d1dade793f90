"""The dashboard's filter: a datasource, an inclusive range of days and wanted values of the
sales columns, checked on creation and turned into the query model's filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backend.analytics.errors import BadRange
from backend.analytics.query import TIME, Filter, FilterKind
from backend.contracts.sales import SALES

# SalesFilter attribute -> the column it filters.
FILTER_COLUMNS = {
    "branches": "Branch",
    "cities": "City",
    "product_lines": "Product line",
    "customer_types": "Customer type",
    "genders": "Gender",
    "payments": "Payment",
}
FILTER_MAX_VALUES = 100

# Filters take days in this range: wide enough for any sales data, narrow enough that the
# previous period and the day after `dateTo` are still dates.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


@dataclass(frozen=True)
class SalesFilter:
    datasource: str = SALES
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    branches: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    customer_types: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    payments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for attribute in FILTER_COLUMNS:
            values: tuple[str, ...] = getattr(self, attribute)
            if len(values) > FILTER_MAX_VALUES or any(len(v) > 200 for v in values):
                raise BadRange(
                    f"{attribute} takes at most {FILTER_MAX_VALUES} values of up to 200 "
                    f"characters (got {len(values)})",
                    "Filter on fewer values, or leave the filter out to take them all.",
                )
        for name, day in (("dateFrom", self.date_from), ("dateTo", self.date_to)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise BadRange(
                    f"{name} {day} is outside the dates this service covers",
                    f"Give a day from {FIRST_DAY} to {LAST_DAY}.",
                )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise BadRange(
                f"dateFrom {self.date_from} is after dateTo {self.date_to}",
                "Give a dateFrom on or before dateTo (both days are included).",
            )

    def dimension_values(self) -> dict[str, tuple[str, ...]]:
        """The filtered columns and their wanted values (columns with no values left out)."""
        return {
            column: tuple(getattr(self, attribute))
            for attribute, column in FILTER_COLUMNS.items()
            if getattr(self, attribute)
        }

    def dimension_filters(self) -> list[Filter]:
        return [
            Filter(FilterKind.IN, column, values)
            for column, values in self.dimension_values().items()
        ]

    def filters(
        self, start: dt.datetime | None = None, end: dt.datetime | None = None
    ) -> tuple[Filter, ...]:
        start = start or midnight(self.date_from)
        end = end or midnight(self.date_to, days=1)
        found = self.dimension_filters()
        if start or end:
            found.append(Filter(FilterKind.DATE_RANGE, TIME, (start, end)))
        return tuple(found)


def midnight(day: dt.date | None, days: int = 0) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), tzinfo=dt.UTC)

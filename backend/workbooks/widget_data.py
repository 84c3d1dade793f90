"""A widget's data, as the app shows it: the widget's query with the workbook's filters applied,
run by the analytics service, and written as CSV.

"Applied" means added to the widget query's own filters (both hold). The workbook's filters are
the dashboard's selection as its URL holds it (the web app saves them so): `from` and `to`
(days, both included) bound `__time`, unless `range` names a relative range ("last-30-days",
counted from today in UTC), which decides the days; `branch`, `city`, `product`, `customer`, `gender` and
`payment` keep the rows whose column has one of the values (an empty list keeps all). A key that is a column of the widget's datasource keeps the rows with that value (or one
of those values). A filter on a column the widget's datasource does not have is left out for
that widget; other keys (view settings) are not filters."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from backend.analytics.periods import relative_days
from backend.analytics.query import TIME, FilterKind, Query, Result
from backend.analytics.query_input import build_query
from backend.analytics.rows_csv import csv_chunks
from backend.errors import NotFound
from backend.workbooks.documents import Document, FilterIn, Widget

MAX_ROWS = 100_000
_LISTS = {
    "branch": "Branch",
    "city": "City",
    "product": "Product line",
    "customer": "Customer type",
    "gender": "Gender",
    "payment": "Payment",
}
_DAYS = ("from", "to")
RANGE = "range"


class Runs(Protocol):
    """What of the analytics service this needs (backend.analytics.service.Analytics)."""

    async def columns(self, name: str) -> dict[str, str]: ...

    async def run(self, query: Query) -> Result: ...


def widget_at(document: Document, index: int) -> Widget:
    if not 0 <= index < len(document.widgets):
        raise NotFound(
            f"the workbook has no widget {index} (it has {len(document.widgets)}, numbered from 0)",
            "Give the widget's position in the workbook's widgets, from 0.",
        )
    return document.widgets[index]


def _text(value: Any) -> str | None:
    return None if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _relative(value: Any, today: dt.date) -> tuple[dt.date | None, dt.date | None] | None:
    name = value[0] if isinstance(value, list) and value else value
    return relative_days(name, today) if isinstance(name, str) else None


def workbook_filters(
    filters: dict[str, Any], columns: dict[str, str], today: dt.date | None = None
) -> list[FilterIn]:
    """The workbook's filters as the query model's, on the columns the datasource has; a
    relative range counts from `today` (the reader's, as the page does; UTC's when None)."""
    found: list[FilterIn] = []
    day_from, day_to = (filters.get(key) for key in _DAYS)
    relative = _relative(filters.get(RANGE), today or dt.datetime.now(dt.UTC).date())
    if relative is not None:  # a relative range ("last-30-days") decides the days, from today
        day_from, day_to = (day and day.isoformat() for day in relative)
    if TIME in columns and (day_from or day_to):
        values = [_text(day_from) or None, _text(day_to) or None]
        found.append(FilterIn(kind=FilterKind.DATE_RANGE, column=TIME, values=values))
    for key, value in filters.items():
        column = _LISTS.get(key, key)
        if key in (*_DAYS, RANGE) or column not in columns or value is None or value == []:
            continue
        if isinstance(value, list):
            found.append(FilterIn(kind=FilterKind.IN, column=column, values=value))
        else:
            found.append(FilterIn(kind=FilterKind.EQUALS, column=column, values=[_text(value)]))
    return found


async def run_widget(
    analytics: Runs, document: Document, index: int, today: dt.date | None = None
) -> tuple[Widget, Result]:
    """The widget at `index` and its rows (at most its query's limit, and 100,000); a relative
    range counts from `today`."""
    widget = widget_at(document, index)
    given = widget.query
    columns = await analytics.columns(given.datasource)
    added = workbook_filters(document.filters, columns, today)
    query = given.model_copy(
        update={
            "filters": [*(given.filters or []), *added] or None,
            "limit": min(given.limit or MAX_ROWS, MAX_ROWS),
        }
    )
    return widget, await analytics.run(build_query(query, columns))


__all__ = ["csv_chunks", "run_widget", "widget_at", "workbook_filters"]

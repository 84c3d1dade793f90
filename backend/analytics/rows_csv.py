"""The matching raw rows of a datasource as CSV (the dashboard's rows view, "Download CSV"):
filters and order checked as the `analytics` input's are (columns of the datasource only, values
of the column's type), at most a set number of rows, every cell safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from backend.analytics.budget import Budget
from backend.analytics.errors import BadRange
from backend.analytics.query import TIME, FilterKind, Granularity, Result
from backend.analytics.query_input import build_query
from backend.analytics.service import Analytics, CacheTrace
from backend.pipeline.rejected import neutralise

_CHUNK = 1000


@dataclass(frozen=True)
class RowFilter:
    kind: FilterKind
    column: str
    values: Sequence[str | None]


@dataclass(frozen=True)
class RowOrder:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class RowsInput:
    """A raw-rows query (no measures) in the shape build_query checks."""

    datasource: str
    filters: Sequence[RowFilter]
    order: Sequence[RowOrder]
    measures: Sequence[Any] = ()
    dimensions: Sequence[str] | None = None
    granularity: Granularity | None = None
    limit: int | None = 1
    offset: int = 0


class TooManyRows(BadRange):
    code = "too_many_rows"


_NARROW = (
    "Narrow the selection (a shorter date range, a branch or a product line) and download again."
)


@dataclass(frozen=True)
class Bounds:
    rows: int  # the most rows a download holds
    cells: int  # the most values (rows x columns), however few the rows
    seconds: float  # the time the query may take


async def matching_rows(analytics: Analytics, request: RowsInput, bounds: Bounds) -> Result:
    """Every row matching `request`'s filters, in its order, without the internal `__time`
    (the rows view does not show it: its Date and Time say it); more than `bounds.rows` rows or
    `bounds.cells` values is refused (a file that silently stops part way would mislead)."""
    columns = await analytics.columns(request.datasource)
    # One row more than the cells allow tells "too many" apart from "exactly enough".
    rows = min(bounds.rows, bounds.cells // max(1, len(columns)))
    query = dataclasses.replace(build_query(request, columns), limit=rows + 1)
    budget = Budget(bounds.seconds, cells=(rows + 1) * max(1, len(columns)), parallel=1)
    result = await analytics.run(query, CacheTrace(budget=budget), field="rows_csv")
    if len(result.rows) > rows:
        raise TooManyRows(f"more than {rows:,} rows match", _NARROW)
    return _without_time(result)


def _without_time(result: Result) -> Result:
    if TIME not in result.columns or len(result.columns) == 1:
        return result
    at = result.columns.index(TIME)
    return Result(
        columns=[c for c in result.columns if c != TIME],
        rows=[row[:at] + row[at + 1 :] for row in result.rows],
    )


def _cell(value: Any) -> Any:
    """Times in ISO 8601, whole numbers as they are, other numbers to 15 significant digits,
    nothing for a null, text that a spreadsheet would run as a formula quoted."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, str):
        return neutralise(value)
    return "" if value is None else value


def csv_chunks(result: Result) -> Iterator[str]:
    """The rows as CSV, a header of the column names first, in pieces of 1000 rows: the rows
    view's download and a workbook widget's data alike, every cell safe in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(name) for name in result.columns])
    for start in range(0, len(result.rows), _CHUNK):
        writer.writerows([_cell(v) for v in row] for row in result.rows[start : start + _CHUNK])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()

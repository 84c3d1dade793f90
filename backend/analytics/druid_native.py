"""Native Druid queries (JSON: timeseries, groupBy) for the queries answered from a rolled-up
datasource (backend/analytics/druid_rollup.py) and for simple aggregates of raw rows, with the
answers the SQL path gives.

Measured on this machine (bench/RESULTS.md, issue 28): Druid SQL planning on the broker costs
more than answering from a small rollup (13.7 ms against 7.1 ms for a period's total and count
at 5M rows), and a count per rating over 5M raw rows costs less as a native groupBy, so the
simple shapes go native. Only what is written the same both ways is sent natively: on the
rollup, sums, minima and maxima of its metrics grouped by text dimensions; on raw rows, counts
and sums, minima and maxima of numbers grouped by text or number columns; either grouped by a
period too, filtered on text values and `__time`, ordered and paged only without a period.
Anything else (`build` returns None) takes the SQL path, which stays the reference: the engine
parity suite runs both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.analytics.query import (
    TIME,
    Aggregate,
    Filter,
    FilterKind,
    Granularity,
    Measure,
    Order,
    Query,
    Result,
)
from backend.contracts.schema import PERIOD
from backend.druid.client import parse_timestamp
from backend.druid.rollup import ROWS, Choice
from backend.druid.spec import text_copy

# Druid's own bounds of all time (Intervals.ETERNITY): an open end of a `__time` range.
ETERNITY_START = "-146136543-09-08T08:23:32.096Z"
ETERNITY_END = "146140482-04-24T15:36:27.903Z"
# Druid's periods for the query model's granularities (SQL: TIME_FLOOR(__time, period) in UTC).
PERIODS = {
    Granularity.HOUR: "PT1H",
    Granularity.DAY: "P1D",
    Granularity.WEEK: "P1W",  # ISO weeks: Monday, as the embedded engine
    Granularity.MONTH: "P1M",
    Granularity.QUARTER: "P3M",
    Granularity.YEAR: "P1Y",
}
AGGREGATORS = {Aggregate.SUM: "Sum", Aggregate.MIN: "Min", Aggregate.MAX: "Max"}
TEXT = "String"  # the engine's name for a VARCHAR column
# The engine's column types (druid_engine.TYPE_NAMES) as native aggregator and dimension types.
NUMBERS = {"Int64": "long", "Float64": "double"}
DIMENSION_TYPES = {TEXT: "STRING", "Int64": "LONG", "Float64": "DOUBLE"}


@dataclass(frozen=True)
class Native:
    body: dict[str, Any]
    result: Callable[[list[Any]], Result]


def _metric_type(column: str, choice: Choice) -> str | None:
    """ "long" or "double" for a rollup metric (`__rows`, `__sum:x`, ...), None if unknown."""
    if column == ROWS:
        return "long"
    kind, _, name = column.partition(":")
    measures = dict(choice.measures)
    if kind == "__count" and name in measures:
        return "long"
    if kind in ("__sum", "__min", "__max"):
        return measures.get(name)
    return None


def _moment(value: object) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    """To the millisecond (Druid's resolution), cut as the SQL path's epoch milliseconds are."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _interval(filters: list[Filter]) -> str | None:
    """The `__time` ranges as one interval (their intersection); None when one cannot be."""
    low: dt.datetime | None = None
    high: dt.datetime | None = None
    for item in filters:
        start, end = (item.values + (None, None))[:2]
        if start is not None:
            moment = _moment(start)
            if moment is None:
                return None
            low = moment if low is None else max(low, moment)
        if end is not None:
            moment = _moment(end)
            if moment is None:
                return None
            high = moment if high is None else min(high, moment)
    if low is not None and high is not None and low >= high:
        return None  # empty or reversed: the SQL path answers it (and says what is wrong)
    start_text = _iso(low) if low is not None else ETERNITY_START
    return f"{start_text}/{_iso(high) if high is not None else ETERNITY_END}"


def _filter(item: Filter) -> dict[str, Any] | None:
    """A filter on a text dimension's values (None among them: its empty rows)."""
    if item.kind not in (FilterKind.EQUALS, FilterKind.IN) or not item.values:
        return None
    values = [v for v in item.values if v is not None]
    if not all(isinstance(v, str) for v in values):
        return None
    parts: list[dict[str, Any]] = []
    if values:
        parts.append({"type": "in", "dimension": item.column, "values": values})
    if len(values) < len(item.values):
        parts.append({"type": "null", "column": item.column})
    return parts[0] if len(parts) == 1 else {"type": "or", "fields": parts}


def _raw_aggregation(measure: Measure, schema: dict[str, str]) -> tuple[dict[str, Any], str] | None:
    """COUNT(*), COUNT(x), and sums, minima and maxima of a number, over raw rows, with the
    `long...`/`double...` kind whose answer the reader gives the SQL path's type."""
    column, name = measure.column, measure.name
    if measure.aggregate is Aggregate.COUNT:
        counted = {"type": "count", "name": name}
        if column is None:
            return counted, "longSum"
        present = {"type": "not", "field": {"type": "null", "column": column}}
        filtered = {"type": "filtered", "filter": present, "aggregator": counted, "name": name}
        return filtered, "longSum"
    kind = AGGREGATORS.get(measure.aggregate)
    number = NUMBERS.get(schema.get(column or "", ""))
    if kind is None or number is None:
        return None
    return {"type": f"{number}{kind}", "name": name, "fieldName": column}, f"{number}{kind}"


def _rollup_aggregation(measure: Measure, choice: Choice) -> tuple[dict[str, Any], str] | None:
    kind = AGGREGATORS.get(measure.aggregate)
    metric_type = _metric_type(measure.column or "", choice)
    if kind is None or metric_type is None:
        return None
    typed = f"{metric_type}{kind}"
    return {"type": typed, "name": measure.name, "fieldName": measure.column}, typed


def _aggregations(
    query: Query, choice: Choice | None, schema: dict[str, str]
) -> list[tuple[dict[str, Any], str]] | None:
    """Each measure's aggregator and the kind its answer is read as; None: not all native."""
    found = [
        _raw_aggregation(m, schema) if choice is None else _rollup_aggregation(m, choice)
        for m in query.measures
    ]
    return [f for f in found if f is not None] if all(f is not None for f in found) else None


def _limit_spec(query: Query, aggregated: set[str], kinds: dict[str, str]) -> dict[str, Any] | None:
    """The query's order (without one and without a period: its keys', as the SQL path's
    ORDER BY), limit and offset."""
    order = query.order
    if not order and query.granularity is None:
        order = tuple(Order(d) for d in query.dimensions)
    columns = []
    for item in order:
        if item.name not in aggregated and item.name not in query.dimensions:
            return None
        text = item.name not in aggregated and kinds.get(item.name) == "STRING"
        columns.append(
            {
                "dimension": item.name,
                "direction": "descending" if item.descending else "ascending",
                "dimensionOrder": "lexicographic" if text else "numeric",
            }
        )
    spec: dict[str, Any] = {"type": "default", "columns": columns}
    if query.limit is not None and query.limit < 1:
        return None
    if query.limit is not None:
        spec["limit"] = int(query.limit)
    if query.offset:
        spec["offset"] = int(query.offset)
    return spec


def build(
    query: Query,
    datasource: str,
    choice: Choice | None,
    schema: dict[str, str],
    texts: tuple[str, ...] = (),
) -> Native | None:
    """The native query for `query` over the rolled-up `datasource` (its metrics already in
    place of the raw columns), or with `choice` None over the raw rows of `datasource`, grouped
    by the text copy of a number in `texts` (read back as the number) when not by a period too;
    None: ask in SQL."""
    aggregated = _aggregations(query, choice, schema)
    kinds = {d: DIMENSION_TYPES.get(schema.get(d, "")) for d in query.dimensions}
    if choice is not None and any(k != "STRING" for k in kinds.values()):
        return None  # a rollup's dimensions are text
    if aggregated is None or any(k is None for k in kinds.values()):
        return None
    aggregations = [a for a, _ in aggregated]
    reads = {a["name"]: kind for a, kind in aggregated}
    typed = {d: k for d, k in kinds.items() if k is not None}
    times = [f for f in query.filters if f.column == TIME]
    if any(f.kind is not FilterKind.DATE_RANGE for f in times):
        return None
    others = [f for f in query.filters if f.column != TIME]
    filters = [_filter(f) if schema.get(f.column) == TEXT else None for f in others]
    interval = _interval(times)
    if interval is None or any(f is None for f in filters):
        return None
    body: dict[str, Any] = {
        "dataSource": datasource,
        "intervals": [interval],
        "granularity": (
            {"type": "period", "period": PERIODS[query.granularity], "timeZone": "UTC"}
            if query.granularity is not None
            else "all"
        ),
        "aggregations": aggregations,
        "context": {"skipEmptyBuckets": True},
    }
    if filters:
        body["filter"] = filters[0] if len(filters) == 1 else {"type": "and", "fields": filters}
    paged = bool(query.order) or query.limit is not None or query.offset
    if not query.dimensions and not paged:
        body["queryType"] = "timeseries"
    else:
        if query.granularity is not None and paged:
            return None  # a period with ordering or paging: SQL says it plainly
        limit = _limit_spec(query, {m.name for m in query.measures}, typed)
        if limit is None:
            return None
        body["queryType"] = "groupBy"
        # By a period, Druid orders a bucket's keys as their type: the copy's would be text.
        copies = texts if query.granularity is None else ()
        body["dimensions"] = [_dimension(d, typed[d], d in copies) for d in query.dimensions]
        body["limitSpec"] = limit
    return Native(body, _reader(query, reads, typed))


def _dimension(name: str, kind: str, as_text: bool) -> dict[str, Any]:
    """A grouping key; a number with a text copy grouped by the copy (dictionary-coded: about
    half the time at 5M rows), its keys read back as numbers by `_key` and ordered as numbers."""
    if as_text and kind != "STRING":
        return {"type": "default", "dimension": text_copy(name), "outputName": name}
    return {"type": "default", "dimension": name, "outputName": name, "outputType": kind}


def _key(raw: Any, kind: str) -> Any:
    if raw is None or kind == "STRING":
        return raw
    return int(raw) if kind == "LONG" else float(raw)


def _reader(
    query: Query, aggregators: dict[str, str], kinds: dict[str, str]
) -> Callable[[list[Any]], Result]:
    names = ([PERIOD] if query.granularity else []) + list(query.dimensions)
    measures = [m.name for m in query.measures]

    def value(name: str, raw: Any) -> Any:
        kind = aggregators[name]
        if raw is None:
            # COALESCE(SUM(x), 0) on the SQL path: a sum of nothing is 0, as in Polars
            return (0 if kind.startswith("long") else 0.0) if kind.endswith("Sum") else None
        return int(raw) if kind.startswith("long") else float(raw)

    def read(rows: list[Any]) -> Result:
        found = []
        for row in rows:
            fields = row.get("result") if "result" in row else row.get("event", {})
            keys: list[Any] = [parse_timestamp(row["timestamp"])] if query.granularity else []
            keys += [_key(fields.get(d), kinds[d]) for d in query.dimensions]
            found.append(tuple(keys + [value(m, fields.get(m)) for m in measures]))
        if not names and not found and not query.offset:  # no keys: always one row, as SQL
            found.append(tuple(value(m, None) for m in measures))
        return Result(names + measures, found)

    return read

"""Answering a Druid query from the rolled-up datasource (backend/druid/rollup.py) when that
gives exactly the raw rows' answer, as the embedded engine does from its rollups (from_rollup.py).

A rollup row stands for the rows of one hour and one combination of dimension values, so a query
is covered when it has measures, groups by rollup dimensions and by hour or a coarser period,
filters on rollup dimensions or on whole hours of `__time`, and measures sums, counts, averages,
minima and maxima of rollup measures, row counts and distinct counts of rollup dimensions. The
query is rewritten into one over the metrics (COUNT(*) -> SUM(rows), SUM(x) -> SUM(sum of x),
AVG(x) -> SUM(sum of x) / SUM(count of x)) and run by the Druid engine's own SQL builder; sums of
doubles are added in another order than over the rows, so they may differ in the last bits, as
the embedded rollups' do. Everything else is answered from the raw rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from backend.analytics import rollup
from backend.analytics.catalog import DatasourceVersion
from backend.analytics.from_rollup import on_the_hour
from backend.analytics.query import TIME, Aggregate, Filter, FilterKind, Measure, Query, Result
from backend.druid.rollup import ROWS, Choice, metric, rollup_datasource
from backend.druid.spec import TASK_COLUMN

# The rows read to choose the numbers given a text copy (spec.with_text_copies).
TEXT_SAMPLE_ROWS = 100_000
# Queries answered from a rolled-up datasource since the process started (tests, metrics).
ANSWERED = {"rollup": 0}


def choose(dataset: Path, datasource: str) -> Choice:
    """A dataset's Druid rollup: the embedded rollup's dimensions and numeric columns (blocking:
    reads the dataset). backend.druid.rollup.fit then keeps what the raw spec loads."""
    frame = pl.scan_parquet(dataset)
    schema = frame.collect_schema()
    dimensions = rollup.dimensions_of(frame, schema, datasource)
    measures = tuple(
        (n, "long" if t.is_integer() else "double")
        for n, t in schema.items()
        if rollup.is_measure(t) and not n.startswith("__")
    )
    # The numbers taking few values in the first rows (the embedded rollup counts each value):
    # loaded as text too. A copy is exact whatever the rest holds, so the first rows suffice
    # (all of a 5M-row dataset took 1.4-6 s, bench/RESULTS.md).
    few = rollup.histograms(frame.head(TEXT_SAMPLE_ROWS), [n for n, _ in measures])
    return Choice(
        tuple(d for d in dimensions if not d.startswith("__") and d != TASK_COLUMN),
        measures,
        tuple(n for n, _ in measures if n in few),
    )


@dataclass(frozen=True)
class Plan:
    query: Query  # over the rollup's metrics
    datasource: str  # the rolled-up datasource
    choice: Choice  # what it holds
    finish: Callable[[Result], Result]


def _filter_ok(item: Filter, choice: Choice) -> bool:
    if item.column in choice.dimensions:
        return True
    bounds = [v for v in (item.values + (None, None))[:2] if v is not None]
    return (
        item.column == TIME
        and item.kind is FilterKind.DATE_RANGE
        and all(on_the_hour(v) for v in bounds)
    )


def _measure_ok(measure: Measure, measures: dict[str, str], dimensions: tuple[str, ...]) -> bool:
    column, kind = measure.column, measure.aggregate
    if kind is Aggregate.COUNT:
        return column is None or column in measures
    if kind is Aggregate.COUNT_DISTINCT:
        return column in dimensions
    return column in measures


def covers(query: Query, choice: Choice | None) -> bool:
    if choice is None or not query.measures:
        return False
    measures = dict(choice.measures)
    averages = {m.name for m in query.measures if m.aggregate is Aggregate.AVG}
    return (
        all(d in choice.dimensions for d in query.dimensions)
        and all(_filter_ok(f, choice) for f in query.filters)
        and all(_measure_ok(m, measures, choice.dimensions) for m in query.measures)
        and not any(o.name in averages for o in query.order)  # computed after the SQL
    )


def _rewritten(measure: Measure, index: int) -> list[Measure]:
    column, kind, name = measure.column or "", measure.aggregate, measure.name
    if kind is Aggregate.COUNT:
        source = ROWS if measure.column is None else metric("count", column)
        return [Measure(Aggregate.SUM, source, name)]
    if kind is Aggregate.AVG:  # divided after the SQL (positions, not names, find the parts)
        return [
            Measure(Aggregate.SUM, metric("sum", column), f"__avg{index}_sum"),
            Measure(Aggregate.SUM, metric("count", column), f"__avg{index}_count"),
        ]
    if kind in (Aggregate.SUM, Aggregate.MIN, Aggregate.MAX):
        return [Measure(kind, metric(kind.value, column), name)]
    return [measure]  # COUNT DISTINCT of a dimension


def _finish(query: Query) -> Callable[[Result], Result]:
    averages = [m.aggregate is Aggregate.AVG for m in query.measures]
    if not any(averages):
        return lambda result: result
    names = [m.name for m in query.measures]

    def finish(result: Result) -> Result:
        width = len(result.columns) - len(names) - sum(averages)  # the keys
        rows = []
        for row in result.rows:
            values: list[Any] = list(row[:width])
            at = width
            for average in averages:
                if average:
                    total, count = row[at], row[at + 1]
                    values.append(float(total) / count if count else None)
                else:
                    values.append(row[at])
                at += 2 if average else 1
            rows.append(tuple(values))
        return Result(result.columns[:width] + names, rows)

    return finish


def plan(query: Query, source: DatasourceVersion, prefix: str) -> Plan | None:
    """The query over `source`'s rolled-up Druid datasource, or None: answer from raw rows."""
    choice = source.druid_rollup
    if choice is None or not covers(query, choice):
        return None
    measures = tuple(m for i, x in enumerate(query.measures) for m in _rewritten(x, i))
    ANSWERED["rollup"] += 1
    return Plan(
        dataclasses.replace(query, measures=measures),
        rollup_datasource(f"{prefix}{source.name}"),
        choice,
        _finish(query),
    )

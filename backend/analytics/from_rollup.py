"""Answering a query from the datasets' rollups instead of their rows, when that is exact.

A rollup row stands for the rows of one hour and one combination of dimension values, so a query
is answered from rollups when every filter, grouping and measure can be computed from such rows:
filters on dimensions or on whole hours of `__time`, groupings by dimensions and by hour or a
coarser period, sums, counts, averages (sum / count), minima and maxima, distinct counts of
dimensions, and counts grouped by a column that has a count per value (ratings)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from backend.analytics.catalog import parse_interval
from backend.analytics.query import TIME, Aggregate, Filter, FilterKind, Measure, Query
from backend.analytics.rollup import ROWS, TIME_MAX, TIME_MIN, Rollup, Spec, bucket, stat

Hidden = Sequence[Sequence[str]]


def on_the_hour(value: object) -> bool:
    """A bound a rollup of hour grain can honour exactly (the embedded one and Druid's)."""
    if not isinstance(value, dt.datetime):
        return False
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.minute == 0 and value.second == 0 and value.microsecond == 0


def _hidden_aligned(hidden: Hidden) -> bool:
    return all(
        on_the_hour(moment)
        for intervals in hidden
        for i in intervals
        for moment in parse_interval(i)
    )


def _filter_ok(item: Filter, spec: Spec) -> bool:
    if item.column in spec.dimensions:
        return True
    bounds = [v for v in (item.values + (None, None))[:2] if v is not None]
    return (
        item.column == TIME
        and spec.timed
        and item.kind is FilterKind.DATE_RANGE
        and all(on_the_hour(v) for v in bounds)
    )


def _measure_ok(measure: Measure, spec: Spec) -> bool:
    column, kind = measure.column, measure.aggregate
    if kind is Aggregate.COUNT:
        return column is None or column in spec.measures or column in spec.dimensions
    if kind in (Aggregate.SUM, Aggregate.AVG):
        return column in spec.measures
    if kind in (Aggregate.MIN, Aggregate.MAX):
        return (
            column in spec.measures or column in spec.dimensions or (column == TIME and spec.timed)
        )
    return kind is Aggregate.COUNT_DISTINCT and column in spec.dimensions


def histogram_column(query: Query, spec: Spec) -> str | None:
    """The grouping column answered from per-value counts, if the query groups by one."""
    others = [d for d in query.dimensions if d not in spec.dimensions]
    return others[0] if len(others) == 1 else None


def covers(query: Query, specs: Sequence[Spec], hidden: Hidden) -> bool:
    if not query.measures or not specs or not _hidden_aligned(hidden):
        return False
    return all(_covers(query, spec) for spec in specs)


def _covers(query: Query, spec: Spec) -> bool:
    if not spec.usable or (query.granularity is not None and not spec.timed):
        return False
    if not all(_filter_ok(f, spec) for f in query.filters):
        return False
    others = [d for d in query.dimensions if d not in spec.dimensions]
    if not others:
        return all(_measure_ok(m, spec) for m in query.measures)
    column = others[0]
    return (
        len(others) == 1
        and column in spec.histograms
        and all(
            m.aggregate is Aggregate.COUNT and m.column in (None, column) for m in query.measures
        )
    )


def _aggregate(measure: Measure, spec: Spec) -> pl.Expr:
    column, kind = measure.column or "", measure.aggregate
    rows = pl.col(ROWS)
    if kind is Aggregate.COUNT:
        if not measure.column:
            expr = rows.sum()
        elif column in spec.measures:
            expr = pl.col(stat("count", column)).sum()
        else:
            expr = rows.filter(pl.col(column).is_not_null()).sum()
        return expr.cast(pl.Int64).alias(measure.name)
    if kind is Aggregate.SUM:
        return pl.col(stat("sum", column)).sum().alias(measure.name)
    if kind is Aggregate.AVG:
        count = pl.col(stat("count", column)).sum()
        mean = pl.col(stat("sum", column)).sum() / count
        return pl.when(count > 0).then(mean).alias(measure.name)
    if kind is Aggregate.COUNT_DISTINCT:
        return pl.col(column).drop_nulls().n_unique().cast(pl.Int64).alias(measure.name)
    if column == TIME:
        source = pl.col(TIME_MIN if kind is Aggregate.MIN else TIME_MAX)
    elif column in spec.measures:
        source = pl.col(stat(kind.value, column))
    else:
        source = pl.col(column)
    return (source.min() if kind is Aggregate.MIN else source.max()).alias(measure.name)


def _inputs(query: Query, spec: Spec) -> set[str]:
    """The rollup columns the query's measures read."""
    needed = {ROWS}
    for m in query.measures:
        column = m.column or ""
        if column == TIME:
            needed |= {TIME_MIN, TIME_MAX}
        elif column in spec.measures:
            needed |= {stat(kind, column) for kind in ("sum", "count", "min", "max")}
        elif column:
            needed.add(column)
    return needed


def answer(
    query: Query,
    rollups: Sequence[Rollup],
    hidden: Hidden,
    target: pl.Schema,
    keys: list[pl.Expr],
    predicates: list[pl.Expr],
) -> pl.LazyFrame:
    """The query's groups (not yet ordered) from the rollups, typed like the rows' answer."""
    histogram = histogram_column(query, rollups[0].spec)
    names = [k.meta.output_name() for k in keys]
    parts = []
    for rollup, intervals in zip(rollups, list(hidden) or [()] * len(rollups), strict=True):
        frame = rollup.frame.lazy()
        for interval in intervals:
            start, end = parse_interval(interval)
            frame = frame.filter((pl.col(TIME) < start) | (pl.col(TIME) >= end))
        for predicate in predicates:
            frame = frame.filter(predicate)
        if histogram is None:
            inputs = sorted(_inputs(query, rollup.spec))
            parts.append(frame.select(*keys, *[pl.col(c) for c in inputs if c not in names]))
        else:
            other = [k for k, n in zip(keys, names, strict=True) if n != histogram]
            parts.append(_counts(frame, rollup.spec, histogram, other, target[histogram]))
    combined = pl.concat(parts, how="vertical_relaxed")  # a widened measure: int and float
    if histogram is None:
        spec = rollups[0].spec
        aggregates = [_aggregate(m, spec) for m in query.measures]
        grouped = combined.group_by(names).agg(aggregates) if keys else combined.select(aggregates)
    else:
        n, absent = pl.col("__n"), pl.col(histogram).is_null()
        grouped = (
            combined.group_by(names)
            .agg(n.sum())
            .select(
                *names,
                *[
                    (pl.when(absent).then(0).otherwise(n) if m.column else n).alias(m.name)
                    for m in query.measures
                ],
            )
        )
    return grouped.select(pl.col(c).cast(t) for c, t in target.items())


def _counts(
    frame: pl.LazyFrame, spec: Spec, column: str, keys: list[pl.Expr], dtype: pl.DataType
) -> pl.LazyFrame:
    """Rows per (keys, value of `column`), from the per-value counts (and nulls: rows less
    non-null values), leaving out values no row has."""
    values = spec.histograms[column]
    sums = [
        pl.col(bucket(column, i)).cast(pl.Int64).sum().alias(str(i)) for i in range(len(values))
    ]
    nulls = (pl.col(ROWS).sum() - pl.col(stat("count", column)).sum()).alias("null")
    names = [k.meta.output_name() for k in keys]
    frame = frame.with_columns(keys) if keys else frame
    grouped = frame.group_by(names).agg(*sums, nulls) if keys else frame.select(*sums, nulls)
    mapping = {str(i): v for i, v in enumerate(values)} | {"null": None}
    return (
        grouped.unpivot(index=names, variable_name="__bucket", value_name="__n")
        .filter(pl.col("__n") > 0)
        .select(
            *names,
            pl.col("__bucket").replace_strict(mapping, return_dtype=dtype).alias(column),
            pl.col("__n"),
        )
    )

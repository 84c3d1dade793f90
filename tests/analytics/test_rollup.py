"""Rollups answer exactly what the rows answer: random filters, groupings and measures (hypothesis)
run once from the datasets' rollups and once from their rows, over data.csv split into two
datasets with a replaced interval, with some values missing."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.analytics import from_rollup, rollup
from backend.analytics.catalog import DatasetFiles, DatasourceVersion
from backend.analytics.embedded import EmbeddedEngine, _run, scan
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
from backend.analytics.rollup import SALES_DIMENSIONS, Rollup
from backend.storage.local import LocalObjectStore

MEASURED = ("Total", "gross income", "Quantity", "Rating", "cogs")
START = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
HOURS = 90 * 24
REPLACED = "2019-02-01T00:00:00Z/2019-02-15T00:00:00Z"


def sales_rows() -> pl.DataFrame:
    frame = pl.read_csv("data.csv")
    moment = pl.concat_str(pl.col("Date"), pl.lit(" "), pl.col("Time"))
    frame = frame.with_columns(
        moment.str.strptime(pl.Datetime("us"), "%m/%d/%Y %H:%M")
        .dt.replace_time_zone("UTC")
        .alias(TIME)
    )
    # Some values missing, so nulls are grouped, counted and skipped the same way on both sides.
    index = pl.int_range(pl.len())
    return frame.with_columns(
        pl.when(index % 7 == 3).then(None).otherwise(pl.col("Rating")).alias("Rating"),
        pl.when(index % 11 == 5).then(None).otherwise(pl.col("Payment")).alias("Payment"),
        pl.when(index % 13 == 2).then(None).otherwise(pl.col("Quantity")).alias("Quantity"),
    )


@dataclass
class Loaded:
    frame: pl.LazyFrame
    rollups: list[Rollup]
    hidden: tuple[tuple[str, ...], ...]
    values: dict[str, list[Any]]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    root = tmp_path_factory.mktemp("rollup")
    store = LocalObjectStore(root / "storage")
    rows = sales_rows()
    keys = ("datasets/sales/first.parquet", "datasets/sales/second.parquet")
    for key, part in zip(keys, (rows[:600], rows[600:]), strict=True):
        path = root / "storage" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        part.write_parquet(path)
    hidden = ((REPLACED,), ())  # the second upload replaced two weeks of the first one's rows
    source = DatasourceVersion("sales", keys, rows.height, None, hidden)
    engine = EmbeddedEngine(DatasetFiles(store, root / "cache"), threads=1)

    async def prepare() -> list[Rollup] | None:
        await engine.prepare(source)
        return await engine.rollups(source)

    rollups = asyncio.run(prepare())
    engine.close()
    assert rollups is not None and all(r.spec.usable for r in rollups)
    assert rollups[0].frame.height < rows.height
    values = {d: sorted(rows[d].drop_nulls().unique().to_list()) for d in SALES_DIMENSIONS}
    paths = [root / "storage" / k for k in keys]
    return Loaded(scan(paths, hidden), rollups, hidden, values)


def hour(index: int) -> dt.datetime:
    return START + dt.timedelta(hours=index)


@st.composite
def queries(draw: st.DrawFn, values: dict[str, list[Any]]) -> Query:
    dimensions = draw(st.lists(st.sampled_from(SALES_DIMENSIONS), max_size=3, unique=True))
    if draw(st.booleans()) and not dimensions or draw(st.integers(0, 4)) == 0:
        # Grouped by rating, counted: what the rating distribution asks.
        dimensions.append("Rating")
        kinds = st.sampled_from([Measure(Aggregate.COUNT), Measure(Aggregate.COUNT, "Rating")])
    else:
        kinds = st.one_of(
            st.builds(
                Measure,
                st.sampled_from([Aggregate.SUM, Aggregate.AVG, Aggregate.MIN, Aggregate.MAX]),
                st.sampled_from(MEASURED),
            ),
            st.builds(Measure, st.just(Aggregate.COUNT), st.sampled_from([None, *MEASURED])),
            st.builds(
                Measure,
                st.sampled_from([Aggregate.COUNT_DISTINCT, Aggregate.MIN, Aggregate.COUNT]),
                st.sampled_from(SALES_DIMENSIONS),
            ),
            st.builds(Measure, st.sampled_from([Aggregate.MIN, Aggregate.MAX]), st.just(TIME)),
        )
    picked = draw(st.lists(kinds, min_size=1, max_size=4))
    measures = tuple(Measure(m.aggregate, m.column, f"m{i}") for i, m in enumerate(picked))
    filters = []
    for column in draw(st.lists(st.sampled_from(SALES_DIMENSIONS), max_size=2, unique=True)):
        wanted = draw(st.lists(st.sampled_from([*values[column], "nowhere"]), min_size=1))
        filters.append(Filter(FilterKind.IN, column, tuple(wanted)))
    if draw(st.booleans()):
        low, high = sorted(draw(st.lists(st.integers(-24, HOURS), min_size=2, max_size=2)))
        minutes = draw(st.sampled_from([0, 0, 0, 30]))  # not whole hours: answered from rows
        bounds = (
            hour(low) if draw(st.booleans()) else None,
            hour(high) + dt.timedelta(minutes=minutes) if draw(st.booleans()) else None,
        )
        filters.append(Filter(FilterKind.DATE_RANGE, TIME, bounds))
    granularity = draw(st.none() | st.sampled_from(list(Granularity)))
    order: tuple[Order, ...] = ()
    limit = None
    if draw(st.booleans()):  # a total order (every key, then measures), then a page of it
        # Keys first: float sums that tie in one answer may differ in the last bit in the other.
        keys = (["__period"] if granularity else []) + dimensions
        order = tuple(Order(k, draw(st.booleans())) for k in keys) + tuple(
            Order(m.name, draw(st.booleans())) for m in measures
        )
        limit = draw(st.integers(1, 20))
    return Query(
        "sales",
        measures,
        dimensions=tuple(dimensions),
        granularity=granularity,
        filters=tuple(filters),
        order=order,
        limit=limit,
    )


def same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        # Float sums added in another order differ in the last bits; nothing else may differ.
        return math.isclose(left, right, rel_tol=1e-12, abs_tol=1e-9) or (
            math.isnan(left) and math.isnan(right)
        )
    return type(left) is type(right) and left == right


def assert_same(from_rollups: Result, from_rows: Result) -> None:
    assert from_rollups.columns == from_rows.columns
    assert len(from_rollups.rows) == len(from_rows.rows)
    for got, want in zip(from_rollups.rows, from_rows.rows, strict=True):
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rollup_answers_equal_row_answers(loaded: Loaded, data: st.DataObject) -> None:
    query = data.draw(queries(loaded.values))
    whole_hours = all(
        f.column != TIME or all(v is None or v.minute == 0 for v in f.values)  # type: ignore[union-attr]
        for f in query.filters
    )
    specs = [r.spec for r in loaded.rollups]
    assert from_rollup.covers(query, specs, loaded.hidden) == whole_hours
    from_rows = _run(query, loaded.frame)
    assert_same(_run(query, loaded.frame, loaded.rollups, loaded.hidden), from_rows)


def test_rating_distribution_counts_every_rating(loaded: Loaded) -> None:
    query = Query("sales", (Measure(Aggregate.COUNT, None, "n"),), dimensions=("Rating",))
    assert from_rollup.covers(query, [r.spec for r in loaded.rollups], loaded.hidden)
    answered = _run(query, loaded.frame, loaded.rollups, loaded.hidden)
    assert answered == _run(query, loaded.frame)
    assert answered.rows[-1][0] is None  # the rows without a rating are a group of their own


def test_what_a_rollup_cannot_answer_comes_from_the_rows(loaded: Loaded) -> None:
    specs = [r.spec for r in loaded.rollups]
    count = (Measure(Aggregate.COUNT, None, "n"),)
    uncovered = [
        Query("sales", count, filters=(Filter(FilterKind.EQUALS, "Invoice ID", ("x",)),)),
        Query("sales", (Measure(Aggregate.COUNT_DISTINCT, "Invoice ID"),)),
        Query("sales", (Measure(Aggregate.SUM, "Total"),), dimensions=("Rating",)),
        Query("sales", count, filters=(Filter(FilterKind.RANGE, "Total", (10.0, 20.0)),)),
        Query("sales", count, dimensions=("Invoice ID",), limit=5),
    ]
    for query in uncovered:
        assert not from_rollup.covers(query, specs, loaded.hidden)
        # (Float sums from the rows differ in the last bits from one run to the next.)
        assert_same(
            _run(query, loaded.frame, loaded.rollups, loaded.hidden), _run(query, loaded.frame)
        )
    replaced_mid_hour = ((REPLACED.replace("T00:00:00Z/", "T00:30:00Z/"),), ())
    assert not from_rollup.covers(Query("sales", count), specs, replaced_mid_hour)


def inferred_rows(
    rows: int, ids: bool, step: dt.timedelta = dt.timedelta(minutes=1)
) -> pl.DataFrame:
    index = pl.int_range(rows, eager=True)
    return pl.DataFrame(
        {
            TIME: pl.datetime_range(START, START + step * (rows - 1), step, eager=True),
            "region": (index % 3).cast(pl.String),
            "order": ("o" + index.cast(pl.String)) if ids else (index % 2).cast(pl.String),
            "amount": index * 3,
        }
    )


def test_an_inferred_datasource_is_rolled_up_over_its_few_valued_columns(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    rows = inferred_rows(5000, ids=True)
    rows.write_parquet(path)
    spec = rollup.build(path, tmp_path / "rollup.parquet", "visits")
    assert spec.usable and spec.dimensions == ("region",) and "amount" in spec.measures
    loaded = [rollup.load(tmp_path / "rollup.parquet")]
    query = Query(
        "visits",
        (Measure(Aggregate.SUM, "amount", "amount"), Measure(Aggregate.COUNT, None, "n")),
        dimensions=("region",),
        granularity=Granularity.DAY,
    )
    assert from_rollup.covers(query, [loaded[0].spec], ())
    frame = pl.scan_parquet(path)
    assert _run(query, frame, loaded) == _run(query, frame)  # integers: exactly equal
    by_order = Query("visits", (Measure(Aggregate.COUNT, None, "n"),), dimensions=("order",))
    assert not from_rollup.covers(by_order, [loaded[0].spec], ())


def test_no_rollup_when_it_would_not_be_smaller(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    inferred_rows(500, ids=False, step=dt.timedelta(hours=1)).write_parquet(path)  # one an hour
    spec = rollup.build(path, tmp_path / "rollup.parquet", "visits")
    assert not spec.usable
    query = Query("visits", (Measure(Aggregate.COUNT, None, "n"),))
    assert not from_rollup.covers(query, [spec], ())

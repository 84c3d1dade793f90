"""Several figure sets asked at once (the summary's period and the one before it): on Druid one
SQL of filtered aggregates, with the answers each query alone gives and plain Python computes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.analytics.catalog import DatasourceVersion
from backend.analytics.druid_engine import DruidEngine, build_sql, merge
from backend.analytics.query import (
    TIME,
    Aggregate,
    Filter,
    FilterKind,
    Measure,
    Query,
    Result,
)
from backend.druid.client import DruidClient
from tests.analytics import expected as ex
from tests.conftest import DruidSales

pytestmark = pytest.mark.slow

DATA = ex.load(Path("data.csv"))
UTC = dt.UTC
SOURCE = DatasourceVersion("sales", ("loaded by the druid_sales fixture",), 1000, None)
FIGURES = (
    Measure(Aggregate.SUM, "Total", "totalSales"),
    Measure(Aggregate.SUM, "gross income", "grossIncome"),
    Measure(Aggregate.COUNT, None, "transactions"),
    Measure(Aggregate.SUM, "Quantity", "unitsSold"),
    Measure(Aggregate.AVG, "Rating", "averageRating"),
)
BRANCHES = Filter(FilterKind.IN, "Branch", ("A", "C"))


def period(start: dt.datetime, end: dt.datetime, *other: Filter) -> Query:
    return Query(
        "sales", FIGURES, filters=(*other, Filter(FilterKind.DATE_RANGE, TIME, (start, end)))
    )


def same(found: Result, expected: dict[str, object]) -> None:
    (row,) = found.records()
    for name, value in row.items():
        if expected[name] is None:
            assert value is None, name
        else:
            assert value == pytest.approx(expected[name], rel=1e-9, abs=1e-6), name


@pytest.fixture
async def engine(druid_sales: DruidSales) -> AsyncIterator[DruidEngine]:
    client = DruidClient(druid_sales.druid.url)
    try:
        yield DruidEngine(client, druid_sales.prefix)
    finally:
        await client.close()


async def test_a_period_and_the_one_before_are_one_sql_with_each_periods_figures(
    engine: DruidEngine,
) -> None:
    start, end = dt.datetime(2019, 2, 1, tzinfo=UTC), dt.datetime(2019, 3, 1, tzinfo=UTC)
    before = start - (end - start)
    queries = [period(start, end, BRANCHES), period(before, start, BRANCHES)]
    merged = merge(queries)
    assert merged is not None
    text, _ = build_sql(merged, engine.table(SOURCE))
    assert text.count("SELECT") == 1 and "FILTER (WHERE" in text

    now, previous = await engine.run_many(queries, SOURCE)
    same(now, ex.figures(ex.select(DATA, start, end, Branch=("A", "C"))))
    same(previous, ex.figures(ex.select(DATA, before, start, Branch=("A", "C"))))
    assert [now, previous] == [await engine.run(q, SOURCE) for q in queries]


async def test_a_period_before_the_data_has_zero_figures_and_no_average(
    engine: DruidEngine,
) -> None:
    start, end = dt.datetime(2019, 1, 1, tzinfo=UTC), dt.datetime(2019, 4, 1, tzinfo=UTC)
    before = start - (end - start)
    now, previous = await engine.run_many([period(start, end), period(before, start)], SOURCE)
    same(now, ex.figures(DATA))
    (row,) = previous.records()
    assert (row["totalSales"], row["transactions"], row["unitsSold"]) == (0, 0, 0)
    assert row["averageRating"] is None  # no rating to average, as on the embedded engine


async def test_queries_that_cannot_be_one_sql_are_answered_each_as_alone(
    engine: DruidEngine,
) -> None:
    distinct = Query("sales", (Measure(Aggregate.COUNT_DISTINCT, "City", "cities"),))
    by_branch = Query("sales", FIGURES, dimensions=("Branch",))
    queries = [distinct, by_branch, Query("sales", FIGURES)]
    assert merge(queries) is None
    answers = await engine.run_many(queries, SOURCE)
    assert answers == [await engine.run(q, SOURCE) for q in queries]
    assert answers[0].rows == [(len({r["City"] for r in DATA}),)]

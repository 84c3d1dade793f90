"""Which rollup queries go to Druid as native queries, and how their answers are read. That the
answers equal the SQL path's runs against a real Druid in tests/analytics/test_engine.py
(`druid-rollup` against `druid-rollup-sql`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from backend.analytics.druid_native import build
from backend.analytics.query import (
    TIME,
    Aggregate,
    Filter,
    FilterKind,
    Granularity,
    Measure,
    Order,
    Query,
)
from backend.druid.rollup import ROWS, Choice, metric

CHOICE = Choice(("Branch", "Payment"), (("Total", "double"), ("Quantity", "long")))
SCHEMA = {"Branch": "String", "Payment": "String", "Quantity": "Int64", "Total": "Float64"}
TOTAL = Measure(Aggregate.SUM, metric("sum", "Total"), "total")
ROWS_SUM = Measure(Aggregate.SUM, ROWS, "n")
JAN = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
FEB = dt.datetime(2019, 2, 1, tzinfo=dt.UTC)


def query(*measures: Measure, **fields: object) -> Query:
    return Query("sales", measures or (TOTAL, ROWS_SUM), **fields)  # type: ignore[arg-type]


def test_figures_of_a_period_are_a_timeseries_over_its_interval() -> None:
    native = build(
        query(filters=(Filter(FilterKind.DATE_RANGE, TIME, (JAN, FEB)),)),
        "p_sales-rollup",
        CHOICE,
        SCHEMA,
    )
    assert native is not None
    body = native.body
    assert body["queryType"] == "timeseries" and body["dataSource"] == "p_sales-rollup"
    assert body["intervals"] == ["2019-01-01T00:00:00.000Z/2019-02-01T00:00:00.000Z"]
    assert [a["type"] for a in body["aggregations"]] == ["doubleSum", "longSum"]
    # A period without rows is one row of zeros, as Druid SQL's COALESCE(SUM(x), 0) gives.
    empty = native.result([])
    assert empty.columns == ["total", "n"] and empty.rows == [(0.0, 0)]
    found = native.result([{"timestamp": "2019-01-01T00:00:00.000Z", "result": {"total": 12.5}}])
    assert found.rows == [(12.5, 0)] and isinstance(found.rows[0][1], int)


def test_open_and_several_time_bounds_meet_in_one_interval() -> None:
    after = Filter(FilterKind.DATE_RANGE, TIME, (JAN, None))
    before = Filter(FilterKind.DATE_RANGE, TIME, (None, FEB))
    native = build(query(filters=(after,)), "r", CHOICE, SCHEMA)
    assert native is not None and native.body["intervals"][0].startswith("2019-01-01T00:00")
    both = build(query(filters=(after, before)), "r", CHOICE, SCHEMA)
    assert both is not None
    assert both.body["intervals"] == ["2019-01-01T00:00:00.000Z/2019-02-01T00:00:00.000Z"]


def test_groups_by_a_period_and_text_read_back_typed() -> None:
    native = build(
        query(
            dimensions=("Branch",),
            granularity=Granularity.MONTH,
            filters=(Filter(FilterKind.IN, "Payment", ("Cash", None)),),
        ),
        "r",
        CHOICE,
        SCHEMA,
    )
    assert native is not None and native.body["queryType"] == "groupBy"
    assert native.body["granularity"] == {"type": "period", "period": "P1M", "timeZone": "UTC"}
    assert native.body["filter"] == {
        "type": "or",
        "fields": [
            {"type": "in", "dimension": "Payment", "values": ["Cash"]},
            {"type": "null", "column": "Payment"},
        ],
    }
    row = {"timestamp": "2019-01-01T00:00:00.000Z", "event": {"Branch": "A", "n": 3}}
    result = native.result([row])
    assert result.columns == ["__period", "Branch", "total", "n"]
    assert result.rows == [(JAN, "A", 0.0, 3)]


def test_ordering_and_paging_become_a_limit_spec() -> None:
    native = build(
        query(dimensions=("Branch",), order=(Order("total", True),), limit=3, offset=1),
        "r",
        CHOICE,
        SCHEMA,
    )
    assert native is not None
    assert native.body["limitSpec"] == {
        "type": "default",
        "columns": [{"dimension": "total", "direction": "descending", "dimensionOrder": "numeric"}],
        "limit": 3,
        "offset": 1,
    }


@pytest.mark.parametrize(
    "asked",
    [
        query(Measure(Aggregate.COUNT_DISTINCT, "Branch", "d")),  # exact distinct counts: SQL
        query(granularity=Granularity.DAY, limit=5),  # a period with paging
        query(dimensions=("Quantity",)),  # a number as a dimension: SQL gives its type
        query(filters=(Filter(FilterKind.IN, "Branch", (1,)),)),  # a number among text values
        query(filters=(Filter(FilterKind.RANGE, "Branch", ("A", "B")),)),
        query(filters=(Filter(FilterKind.IN, "Branch", ()),)),
        query(filters=(Filter(FilterKind.DATE_RANGE, TIME, (FEB, JAN)),)),  # SQL says why
        query(filters=(Filter(FilterKind.DATE_RANGE, TIME, (JAN, JAN)),)),  # an empty period
        query(filters=(Filter(FilterKind.IN, "Quantity", ("3",)),)),  # text against a number
        query(Measure(Aggregate.SUM, "Total", "raw column")),  # not a rollup metric
        query(dimensions=("Branch",), order=(Order("Payment"),)),  # not a key of the answer
    ],
)
def test_other_shapes_stay_sql(asked: Query) -> None:
    assert build(asked, "r", CHOICE, SCHEMA) is None


RAW = SCHEMA | {"Rating": "Float64", "Invoice ID": "String"}


def test_counts_and_sums_of_raw_rows_by_a_number_read_back_typed_in_its_order() -> None:
    """Raw rows: COUNT(*), COUNT(x) (its non-null values) and sums of numbers, grouped by a
    number column, its keys ordered as numbers (SQL's ORDER BY), time to the millisecond."""
    moment = dt.datetime(2019, 1, 5, 10, 30, 15, 123456, tzinfo=dt.UTC)
    native = build(
        Query(
            "sales",
            (
                Measure(Aggregate.COUNT, None, "n"),
                Measure(Aggregate.COUNT, "Rating", "rated"),
                Measure(Aggregate.SUM, "Quantity", "units"),
            ),
            dimensions=("Rating",),
            filters=(Filter(FilterKind.DATE_RANGE, TIME, (moment, None)),),
        ),
        "p_sales",
        None,
        RAW,
    )
    assert native is not None and native.body["queryType"] == "groupBy"
    assert native.body["intervals"][0].startswith("2019-01-05T10:30:15.123Z/")
    assert native.body["dimensions"][0]["outputType"] == "DOUBLE"
    assert [a["type"] for a in native.body["aggregations"]] == ["count", "filtered", "longSum"]
    assert native.body["aggregations"][1]["filter"] == {
        "type": "not",
        "field": {"type": "null", "column": "Rating"},
    }
    assert native.body["limitSpec"]["columns"] == [
        {"dimension": "Rating", "direction": "ascending", "dimensionOrder": "numeric"}
    ]
    events = [{"Rating": None, "n": 2, "rated": 0, "units": 7}, {"Rating": 9, "n": 1, "rated": 1}]
    found = native.result([{"event": e} for e in events])
    assert found.rows == [(None, 2, 0, 7), (9.0, 1, 1, 0)]
    assert isinstance(found.rows[1][0], float) and isinstance(found.rows[1][1], int)


@pytest.mark.parametrize(
    "asked",
    [
        query(Measure(Aggregate.AVG, "Rating", "r")),  # an average: SQL's exact division
        query(Measure(Aggregate.COUNT_DISTINCT, "Branch", "d")),
        query(Measure(Aggregate.SUM, "Branch", "s")),  # a sum of text: SQL says why
        query(Measure(Aggregate.COUNT), filters=(Filter(FilterKind.RANGE, "Rating", (5, 8)),)),
        query(Measure(Aggregate.COUNT), dimensions=(TIME,)),
    ],
)
def test_other_raw_shapes_stay_sql(asked: Query) -> None:
    assert build(asked, "p_sales", None, RAW | {TIME: "Datetime"}) is None


def test_a_number_with_a_text_copy_is_grouped_by_the_copy_and_read_back_as_the_number() -> None:
    """Raw rows grouped by a number every load also holds as text: Druid groups by the
    dictionary-coded copy; the keys come back as the number (the SQL path's type), ordered as
    numbers ("10.0" after "9.5"), the other keys unchanged."""
    asked = Query(
        "sales", (Measure(Aggregate.COUNT, None, "n"),), dimensions=("Rating", "Quantity")
    )
    native = build(asked, "p_sales", None, RAW, texts=("Rating",))
    assert native is not None
    assert native.body["dimensions"] == [
        {"type": "default", "dimension": "__text:Rating", "outputName": "Rating"},
        {
            "type": "default",
            "dimension": "Quantity",
            "outputName": "Quantity",
            "outputType": "LONG",
        },
    ]
    assert [c["dimensionOrder"] for c in native.body["limitSpec"]["columns"]] == ["numeric"] * 2
    events = [
        {"Rating": None, "Quantity": 1, "n": 2},
        {"Rating": "9.5", "Quantity": 2, "n": 1},
        {"Rating": "10.0", "Quantity": 2, "n": 4},
    ]
    found = native.result([{"event": e} for e in events])
    assert found.rows == [(None, 1, 2), (9.5, 2, 1), (10.0, 2, 4)]
    assert all(isinstance(row[0], float) for row in found.rows[1:])
    # By a period too, Druid would order a bucket's keys as text: the number itself then.
    by_month = build(
        replace(asked, granularity=Granularity.MONTH), "p_sales", None, RAW, ("Rating",)
    )
    assert by_month is not None
    assert by_month.body["dimensions"][0]["dimension"] == "Rating"

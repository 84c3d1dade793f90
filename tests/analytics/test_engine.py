"""The query model's semantics, checked for every engine (the `engine` parameter): filters,
aggregates, granularities, order and paging, raw rows. Expected values come from plain Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import polars as pl
import pytest

from backend.analytics.catalog import DatasourceVersion
from backend.analytics.druid_engine import DruidEngine
from backend.analytics.druid_rollup import ANSWERED
from backend.analytics.embedded import _run
from backend.analytics.errors import BadRange, UnknownColumn, UnknownDatasource
from backend.analytics.query import (
    PERIOD,
    TIME,
    Aggregate,
    Filter,
    FilterKind,
    Granularity,
    Measure,
    Order,
    Query,
    Result,
    UnknownOrder,
)
from backend.druid.client import DruidClient, DruidUnavailable
from backend.druid.rollup import Choice, rollup_datasource
from backend.druid.spec import TASK_COLUMN, TEXT_COPY
from backend.monitoring.metrics import Registry
from tests.analytics import expected as ex
from tests.conftest import DruidSales, app_for, make_backend
from tests.factories import upload, wait_for_task
from tests.services import free_port

DATA = ex.load(Path("data.csv"))
Run = Callable[[Query], Awaitable[Result]]


async def druid_rollup_choice(client: DruidClient, table: str) -> Choice:
    """What the rolled-up datasource the service loaded holds, and the numbers its raw one also
    holds as text, read from Druid's own schema."""
    found = await client.sql(
        "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_SCHEMA = 'druid' AND TABLE_NAME = ?",
        [{"type": "VARCHAR", "value": rollup_datasource(table)}],
    )
    columns = {str(name): str(kind) for name, kind in found.rows}
    assert columns, "the service loaded no rolled-up datasource"
    raw = await client.sql(
        "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS "
        "WHERE TABLE_SCHEMA = 'druid' AND TABLE_NAME = ?",
        [{"type": "VARCHAR", "value": table}],
    )
    texts = tuple(
        str(n).removeprefix(TEXT_COPY) for (n,) in raw.rows if str(n).startswith(TEXT_COPY)
    )
    assert "Rating" in texts, "the service loaded no text copy of the ratings"
    return Choice(
        tuple(c for c, k in columns.items() if k == "VARCHAR" and c != TASK_COLUMN),
        tuple(
            (c.split(":", 1)[1], "long" if k == "BIGINT" else "double")
            for c, k in columns.items()
            if c.startswith("__sum:")
        ),
        texts,
    )


@pytest.fixture(
    params=["embedded", "embedded-postgres_s3", "druid", "druid-rollup", "druid-rollup-sql"]
)
async def run(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Run]:
    """Runs a query on the engine named by the parameter, over data.csv loaded as `sales`
    (druid-rollup: the Druid engine told the rolled-up datasource is complete, its simple shapes
    asked as native queries; druid-rollup-sql: the same all in SQL)."""
    if request.param.startswith("druid"):
        loaded: DruidSales = request.getfixturevalue("druid_sales")
        client = DruidClient(loaded.druid.url, query_url=loaded.druid.broker_url)
        engine = DruidEngine(
            client, loaded.prefix, native_queries=request.param != "druid-rollup-sql"
        )
        choice = None
        if request.param.startswith("druid-rollup"):
            choice = await druid_rollup_choice(client, f"{loaded.prefix}sales")
        source = DatasourceVersion(
            "sales", ("loaded by the druid_sales fixture",), 1000, None, druid_rollup=choice
        )

        async def on_druid(query: Query) -> Result:
            if query.datasource != "sales":
                raise UnknownDatasource(query.datasource, ["sales"])
            return await engine.run(query, source)

        try:
            yield on_druid
        finally:
            await client.close()
        return
    engine, _, backend = request.param.partition("-")
    async with app_for(await make_backend(backend or "embedded", request, tmp_path)) as app:
        accepted = await upload(app.client, content=Path("data.csv").read_bytes())
        done = await wait_for_task(app.client, accepted.json()["task_id"])
        assert done["status"] == "succeeded"
        assert app.runtime.analytics.engine.name == engine
        yield app.runtime.analytics.run


def sales(*measures: Measure, **options: object) -> Query:
    return Query("sales", tuple(measures), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("aggregate", "column", "compute"),
    [
        (Aggregate.SUM, "Total", lambda rows: sum(r["Total"] for r in rows)),
        (Aggregate.AVG, "Rating", lambda rows: sum(r["Rating"] for r in rows) / len(rows)),
        (Aggregate.COUNT, None, len),
        (Aggregate.COUNT_DISTINCT, "City", lambda rows: len({r["City"] for r in rows})),
        (Aggregate.MIN, "Unit price", lambda rows: min(float(r["Unit price"]) for r in rows)),
        (Aggregate.MAX, "Quantity", lambda rows: max(r["Quantity"] for r in rows)),
    ],
)
async def test_aggregates(
    run: Run, aggregate: Aggregate, column: str | None, compute: Callable[[list[ex.Row]], float]
) -> None:
    result = await run(sales(Measure(aggregate, column, "value")))
    assert result.rows[0][0] == pytest.approx(compute(DATA))


async def test_filters_combine(run: Run) -> None:
    start, end = dt.datetime(2019, 1, 10, tzinfo=dt.UTC), dt.datetime(2019, 2, 10, tzinfo=dt.UTC)
    query = sales(
        Measure(Aggregate.COUNT, None, "n"),
        Measure(Aggregate.SUM, "Total", "total"),
        filters=(
            Filter(FilterKind.EQUALS, "Gender", ("Female",)),
            Filter(FilterKind.IN, "Branch", ("A", "B")),
            Filter(FilterKind.RANGE, "Rating", (5.0, 8.0)),
            Filter(FilterKind.DATE_RANGE, TIME, (start, end)),
        ),
    )
    rows = [
        r
        for r in ex.select(DATA, start, end, Gender=("Female",), Branch=("A", "B"))
        if 5.0 <= r["Rating"] <= 8.0
    ]
    n, total = (await run(query)).rows[0]
    assert n == len(rows) and total == pytest.approx(sum(r["Total"] for r in rows))


@pytest.mark.parametrize("granularity", list(Granularity))
async def test_granularities_truncate_time(run: Run, granularity: Granularity) -> None:
    result = await run(sales(Measure(Aggregate.COUNT, None, "n"), granularity=granularity))

    def key(row: ex.Row) -> dt.datetime:
        moment: dt.datetime = row["when"]
        base = moment.replace(minute=0, second=0, microsecond=0)
        if granularity is Granularity.HOUR:
            return base
        base = base.replace(hour=0)
        if granularity is Granularity.WEEK:
            return base - dt.timedelta(days=base.weekday())
        if granularity is Granularity.MONTH:
            return base.replace(day=1)
        if granularity is Granularity.QUARTER:
            return base.replace(day=1, month=(base.month - 1) // 3 * 3 + 1)
        if granularity is Granularity.YEAR:
            return base.replace(day=1, month=1)
        return base

    wanted = sorted((k, len(v)) for k, v in ex.group(DATA, key).items())
    assert result.columns == [PERIOD, "n"]
    assert [(p, n) for p, n in result.rows] == wanted


async def test_dimensions_order_limit_and_offset(run: Run) -> None:
    query = sales(
        Measure(Aggregate.SUM, "Quantity", "units"),
        dimensions=("Branch", "Gender"),
        order=(Order("units", descending=True), Order("Branch"), Order("Gender")),
        limit=3,
        offset=1,
    )
    grouped = ex.group(DATA, lambda r: (r["Branch"], r["Gender"]))
    ranked = sorted(
        ((k[0], k[1], sum(r["Quantity"] for r in v)) for k, v in grouped.items()),
        key=lambda t: (-t[2], t[0], t[1]),
    )
    assert (await run(query)).rows == ranked[1:4]


@pytest.mark.parametrize(
    ("dimensions", "granularity"),
    [(("Rating",), None), (("Branch", "Rating"), Granularity.MONTH)],
)
async def test_rows_counted_per_value_of_a_number(
    run: Run, dimensions: tuple[str, ...], granularity: Granularity | None
) -> None:
    """The rating distribution's shape (on Druid: a native groupBy over raw rows), in the keys'
    order."""
    query = sales(
        Measure(Aggregate.COUNT, None, "n"),
        Measure(Aggregate.COUNT, "Rating", "rated"),
        Measure(Aggregate.SUM, "Quantity", "units"),
        dimensions=dimensions,
        granularity=granularity,
    )

    def key(row: ex.Row) -> tuple[object, ...]:
        month = row["when"].replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (*([month] if granularity else []), *(row[d] for d in dimensions))

    grouped = ex.group(DATA, key).items()
    wanted = sorted((*k, len(v), len(v), sum(r["Quantity"] for r in v)) for k, v in grouped)
    result = await run(query)
    assert result.columns == ([PERIOD] if granularity else []) + [
        *dimensions,
        "n",
        "rated",
        "units",
    ]
    assert result.rows == wanted


async def test_raw_rows_in_time_order(run: Run) -> None:
    query = Query("sales", (), dimensions=("Invoice ID", TIME), limit=5, offset=10)
    ordered = sorted(DATA, key=lambda r: r["when"])
    assert [row[1] for row in (await run(query)).rows] == [r["when"] for r in ordered[10:15]]


async def test_bad_queries_are_refused(run: Run) -> None:
    with pytest.raises(UnknownColumn, match="no column 'Profit'"):
        await run(sales(Measure(Aggregate.SUM, "Profit")))
    with pytest.raises(UnknownDatasource):
        await run(Query("nowhere", (Measure(Aggregate.COUNT),)))
    with pytest.raises(BadRange):
        await run(
            sales(
                Measure(Aggregate.COUNT), filters=(Filter(FilterKind.RANGE, "Rating", (9.0, 1.0)),)
            )
        )


def test_the_embedded_engine_refuses_an_order_it_cannot_follow_with_a_coded_error() -> None:
    """Not a Polars error (a masked "Unexpected error."), whoever built the query."""
    frame = pl.LazyFrame({"Branch": ["A", "B", "A"], "Total": [1.0, 5.0, 3.0]})
    count = (Measure(Aggregate.COUNT),)
    with pytest.raises(BadRange, match="__period needs a granularity"):
        _run(Query("t", count, dimensions=("Branch",), order=(Order(PERIOD),)), frame)
    with pytest.raises(UnknownOrder, match="the answer has no column 'Total'"):
        _run(Query("t", count, order=(Order("Total"),)), frame)
    with pytest.raises(UnknownColumn, match="no column 'Totals'"):
        _run(Query("t", (), order=(Order("Totals"),)), frame)
    rows = _run(Query("t", (), dimensions=("Branch",), order=(Order("Total", True),)), frame)
    assert rows.rows == [("B",), ("A",), ("A",)]


async def test_dashboard_figures_come_from_the_druid_rollup(druid_sales: DruidSales) -> None:
    """The figures a dashboard asks for are read from the rolled-up datasource (and equal the raw
    rows' answer), as a native query straight to the broker; a query the rollup cannot answer
    exactly (a range on a measure) reads raw rows, in SQL, and a count per rating raw rows as a
    native query."""
    metrics = Registry()
    client = DruidClient(
        druid_sales.druid.url, query_url=druid_sales.druid.broker_url, metrics=metrics
    )
    engine = DruidEngine(client, druid_sales.prefix)

    def calls(operation: str) -> float:
        found = metrics.registry.get_sample_value(
            "druid_request_duration_seconds_count", {"operation": operation}
        )
        return found or 0.0

    choice = await druid_rollup_choice(client, f"{druid_sales.prefix}sales")
    assert "Branch" in choice.dimensions and ("Total", "double") in choice.measures
    raw = DatasourceVersion("sales", ("loaded",), 1000, None)
    rolled = DatasourceVersion("sales", ("loaded",), 1000, None, druid_rollup=choice)
    summary = sales(
        Measure(Aggregate.SUM, "Total", "total"),
        Measure(Aggregate.COUNT, None, "n"),
        Measure(Aggregate.AVG, "Rating", "rating"),
        Measure(Aggregate.MAX, "Quantity", "most"),
        dimensions=("Branch",),
        granularity=Granularity.MONTH,
        filters=(
            Filter(FilterKind.DATE_RANGE, TIME, (dt.datetime(2019, 1, 5, tzinfo=dt.UTC), None)),
        ),
    )
    try:
        before = ANSWERED["rollup"]
        fast = await engine.run(summary, rolled)
        assert calls("native") == 1
        slow = await engine.run(summary, raw)
        assert ANSWERED["rollup"] == before + 1 and calls("native") == 1
        assert fast.columns == slow.columns and len(fast.rows) == len(slow.rows)
        for mine, theirs in zip(fast.rows, slow.rows, strict=True):
            assert mine[:2] == theirs[:2] and mine[2:] == pytest.approx(theirs[2:])
        ranged = sales(
            Measure(Aggregate.COUNT), filters=(Filter(FilterKind.RANGE, "Rating", (5.0, 8.0)),)
        )
        await engine.run(ranged, rolled)
        assert ANSWERED["rollup"] == before + 1 and calls("native") == 1
        # Rows per rating (the rating distribution): raw rows, as a native groupBy.
        per_rating = sales(Measure(Aggregate.COUNT, None, "n"), dimensions=("Rating",))
        natively = await engine.run(per_rating, rolled)
        assert ANSWERED["rollup"] == before + 1 and calls("native") == 2
        in_sql = DruidEngine(client, druid_sales.prefix, native_queries=False)
        assert natively == await in_sql.run(per_rating, raw) and calls("native") == 2
    finally:
        await client.close()


async def test_queries_go_to_the_broker_given_and_the_rest_to_the_router(
    druid_sales: DruidSales,
) -> None:
    """With a broker URL, SQL and native queries go there (here: nothing listens, so they fail
    naming it, its password never shown) while tasks and health still go through the router."""
    port = free_port()
    client = DruidClient(
        druid_sales.druid.url, query_url=f"http://druid:pw-not-shown@127.0.0.1:{port}", attempts=1
    )
    try:
        assert await client.healthy()
        for ask in (client.sql("SELECT 1"), client.native({"queryType": "timeBoundary"})):
            with pytest.raises(DruidUnavailable) as caught:
                await ask
            assert f"http://127.0.0.1:{port} is unreachable" in caught.value.message
            assert "pw-not-shown" not in caught.value.message
    finally:
        await client.close()

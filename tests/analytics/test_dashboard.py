"""Every dashboard field through GraphQL, checked against a plain-Python computation over data.csv,
on both backends (the embedded engine reads local files or S3 copies)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.analytics import expected as ex
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task

DATA = ex.load(Path("data.csv"))
UTC = dt.UTC


@pytest.fixture
async def loaded(app: App) -> AsyncIterator[App]:
    task = await wait_for_task(
        app.client,
        (await upload(app.client, content=Path("data.csv").read_bytes())).json()["task_id"],
    )
    assert task["status"] == "succeeded"
    yield app


async def gql(app: App, query: str, **variables: Any) -> dict[str, Any]:
    response = await app.client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(app: App, query: str, **variables: Any) -> dict[str, Any]:
    body = await gql(app, query, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


FIGURES = "totalSales grossIncome transactions unitsSold averageBasket averageRating"


def close(actual: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key, value in wanted.items():
        if value is None:
            assert actual[key] is None, key
        else:
            assert actual[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key


async def test_summary_with_a_date_range_and_filters_compares_with_the_previous_period(
    loaded: App,
) -> None:
    result = await data(
        loaded,
        f"""query($f: SalesFilter) {{ salesSummary(filter: $f) {{ {FIGURES} previous {{ {FIGURES} }}
            changePercent {{ totalSales transactions }} periodStart periodEnd previousStart previousEnd }} }}""",
        f={"dateFrom": "2019-02-01", "dateTo": "2019-02-28", "branches": ["A", "C"]},
    )
    summary = result["salesSummary"]
    start, end = dt.datetime(2019, 2, 1, tzinfo=UTC), dt.datetime(2019, 3, 1, tzinfo=UTC)
    previous_start = start - (end - start)
    current = ex.figures(ex.select(DATA, start, end, Branch=("A", "C")))
    before = ex.figures(ex.select(DATA, previous_start, start, Branch=("A", "C")))
    close(summary, current)
    close(summary["previous"], before)
    change = (current["totalSales"] - before["totalSales"]) / before["totalSales"] * 100
    assert summary["changePercent"]["totalSales"] == pytest.approx(change)
    assert (summary["periodStart"], summary["previousStart"]) == (
        start.isoformat(),
        previous_start.isoformat(),
    )


async def test_summary_without_dates_covers_all_data_and_has_no_previous_figures(
    loaded: App,
) -> None:
    summary = (
        await data(
            loaded,
            f"{{ salesSummary {{ {FIGURES} previous {{ transactions }} changePercent {{ totalSales }} }} }}",
        )
    )["salesSummary"]
    close(summary, ex.figures(DATA))
    assert summary["previous"]["transactions"] == 0
    assert summary["changePercent"]["totalSales"] is None  # nothing to compare with: null, not 0


async def test_summary_without_dates_has_no_previous_period_and_one_date_has_one(
    loaded: App,
) -> None:
    query = """query($f: SalesFilter) { salesSummary(filter: $f) {
        previous { totalSales } periodStart periodEnd previousStart previousEnd } }"""
    everything = (await data(loaded, query, f={}))["salesSummary"]
    assert (everything["previousStart"], everything["previousEnd"]) == (None, None)
    assert everything["previous"]["totalSales"] == 0
    since = (await data(loaded, query, f={"dateFrom": "2019-03-02"}))["salesSummary"]
    start = dt.datetime(2019, 3, 2, tzinfo=UTC)
    end = dt.datetime.fromisoformat(since["periodEnd"])
    previous_start = start - (end - start)
    assert (since["previousStart"], since["previousEnd"]) == (
        previous_start.isoformat(),
        start.isoformat(),
    )
    before = ex.figures(ex.select(DATA, previous_start, start))
    assert since["previous"]["totalSales"] == pytest.approx(before["totalSales"])


async def test_trend_has_one_point_per_period_including_empty_ones(loaded: App) -> None:
    result = await data(
        loaded,
        """query($f: SalesFilter) { salesTrend(filter: $f, granularity: DAY) { period totalSales transactions } }""",
        f={"dateFrom": "2019-03-25", "dateTo": "2019-04-05"},
    )
    points = result["salesTrend"]
    assert len(points) == 12  # 25 March .. 5 April; April has no sales
    by_day = ex.group(
        ex.select(DATA, dt.datetime(2019, 3, 25, tzinfo=UTC)), lambda r: r["when"].date()
    )
    for point in points:
        day = dt.datetime.fromisoformat(point["period"]).date()
        rows = by_day.get(day, [])
        assert point["transactions"] == len(rows)
        assert point["totalSales"] == pytest.approx(sum(r["Total"] for r in rows))
    assert points[-1]["transactions"] == 0


async def test_monthly_trend_matches(loaded: App) -> None:
    points = (await data(loaded, "{ salesTrend(granularity: MONTH) { period totalSales } }"))[
        "salesTrend"
    ]
    months = ex.group(DATA, lambda r: (r["when"].year, r["when"].month))
    assert [p["period"][:7] for p in points] == ["2019-01", "2019-02", "2019-03"]
    for point in points:
        year, month = int(point["period"][:4]), int(point["period"][5:7])
        assert point["totalSales"] == pytest.approx(sum(r["Total"] for r in months[(year, month)]))


@pytest.mark.parametrize(
    ("field", "column"),
    [
        ("salesByBranch", "Branch"),
        ("salesByCity", "City"),
        ("salesByProductLine", "Product line"),
        ("salesByPayment", "Payment"),
        ("salesByCustomerType", "Customer type"),
        ("salesByGender", "Gender"),
    ],
)
async def test_breakdowns_match(loaded: App, field: str, column: str) -> None:
    rows = (await data(loaded, f"{{ {field} {{ key totalSales transactions unitsSold share }} }}"))[
        field
    ]
    groups = ex.group(DATA, lambda r: r[column])
    grand = sum(r["Total"] for r in DATA)
    assert {r["key"] for r in rows} == set(groups)
    assert [r["totalSales"] for r in rows] == sorted((r["totalSales"] for r in rows), reverse=True)
    for row in rows:
        members = groups[row["key"]]
        assert row["transactions"] == len(members)
        assert row["totalSales"] == pytest.approx(sum(m["Total"] for m in members))
        assert row["share"] == pytest.approx(sum(m["Total"] for m in members) / grand * 100)


@pytest.mark.parametrize("by", ["BRANCH", "PRODUCT_LINE", "MONTH"])
async def test_profitability_matches(loaded: App, by: str) -> None:
    rows = (
        await data(
            loaded, f"{{ profitability(by: {by}) {{ key revenue cogs grossIncome margin }} }}"
        )
    )["profitability"]
    key = {
        "BRANCH": lambda r: r["Branch"],
        "PRODUCT_LINE": lambda r: r["Product line"],
        "MONTH": lambda r: r["when"].strftime("%Y-%m"),
    }[by]
    groups = ex.group(DATA, key)
    assert sorted(r["key"] for r in rows) == sorted(groups)
    for row in rows:
        members = groups[row["key"]]
        revenue = sum(m["Total"] for m in members)
        income = sum(m["gross income"] for m in members)
        assert row["revenue"] == pytest.approx(revenue)
        assert row["cogs"] == pytest.approx(sum(m["cogs"] for m in members))
        assert row["margin"] == pytest.approx(income / revenue * 100)


async def test_top_product_lines_rating_distribution_and_heatmap_match(loaded: App) -> None:
    result = await data(
        loaded,
        """{ topProductLines(limit: 3, metric: UNITS_SOLD) { productLine value unitsSold }
             ratingDistribution(bins: 4) { lower upper count }
             salesHeatmap { dayOfWeek hour totalSales transactions } }""",
    )
    units = {
        k: sum(r["Quantity"] for r in v)
        for k, v in ex.group(DATA, lambda r: r["Product line"]).items()
    }
    best = sorted(units.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(t["productLine"], t["value"]) for t in result["topProductLines"]] == [
        (k, float(v)) for k, v in best
    ]

    bins = result["ratingDistribution"]
    assert [(b["lower"], b["upper"]) for b in bins] == [(0, 2.5), (2.5, 5), (5, 7.5), (7.5, 10)]
    for b in bins:
        inside = [
            r
            for r in DATA
            if b["lower"] <= r["Rating"] < b["upper"] or (b["upper"] == 10 and r["Rating"] == 10)
        ]
        assert b["count"] == len(inside)

    cells = result["salesHeatmap"]
    assert len(cells) == 7 * 24
    grid = ex.group(DATA, lambda r: (r["when"].isoweekday(), r["when"].hour))
    for cell in cells:
        members = grid.get((cell["dayOfWeek"], cell["hour"]), [])
        assert cell["transactions"] == len(members)
        assert cell["totalSales"] == pytest.approx(sum(m["Total"] for m in members))


async def test_rows_page_through_everything_in_time_order(loaded: App) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = (
            await data(
                loaded,
                "query($a: String) { rows(first: 300, after: $a) { edges { node } pageInfo { hasNextPage endCursor } totalCount } }",
                a=after,
            )
        )["rows"]
        assert page["totalCount"] == 1000
        seen += [e["node"]["Invoice ID"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    ordered = sorted(DATA, key=lambda r: r["when"])
    assert len(seen) == 1000 and len(set(seen)) == 1000
    assert [r["when"] for r in ordered] == sorted(r["when"] for r in DATA)
    first = (await data(loaded, "{ rows(first: 1) { edges { node } } }"))["rows"]["edges"][0][
        "node"
    ]
    assert dt.datetime.fromisoformat(first["__time"]) == ordered[0]["when"]


async def test_row_count_and_filters_that_match_nothing(loaded: App) -> None:
    result = await data(
        loaded,
        """query($f: SalesFilter, $none: SalesFilter) { rowCount(filter: $f)
             salesSummary(filter: $none) { totalSales transactions averageBasket averageRating }
             salesByBranch(filter: $none) { key }
             salesTrend(filter: $none, granularity: WEEK) { totalSales } }""",
        f={"genders": ["Female"], "payments": ["Cash", "Ewallet"]},
        none={"cities": ["Atlantis"], "dateFrom": "2019-01-01", "dateTo": "2019-01-31"},
    )
    assert result["rowCount"] == len(
        ex.select(DATA, Gender=("Female",), Payment=("Cash", "Ewallet"))
    )
    assert result["salesSummary"] == {
        "totalSales": 0.0,
        "transactions": 0,
        "averageBasket": None,
        "averageRating": None,
    }
    assert result["salesByBranch"] == []
    assert result["salesTrend"] and all(p["totalSales"] == 0 for p in result["salesTrend"])


async def test_catalog_and_ad_hoc_analytics(loaded: App) -> None:
    result = await data(
        loaded,
        """{ datasources { name rowCount timeStart timeEnd lastIngestion dataAsOf columns { name type } }
             analytics(query: {datasource: "sales", measures: [{aggregate: SUM, column: "Total", alias: "revenue"},
               {aggregate: COUNT_DISTINCT, column: "Product line"}], dimensions: ["Payment"],
               filters: [{kind: RANGE, column: "Rating", values: ["7", null]}], order: [{name: "revenue", descending: true}]})
               { columns rows } }""",
    )
    (sales,) = result["datasources"]
    assert sales["name"] == "sales" and sales["rowCount"] == 1000
    assert dt.datetime.fromisoformat(sales["timeStart"]) == min(r["when"] for r in DATA)
    assert sales["dataAsOf"] == sales["timeEnd"] and sales["lastIngestion"]
    assert {"Total": "Float64", "__time": "Datetime(time_unit='us', time_zone='UTC')"}.items() <= {
        c["name"]: c["type"] for c in sales["columns"]
    }.items()

    table = result["analytics"]
    assert table["columns"] == ["Payment", "revenue", "count_distinct_Product line"]
    groups = ex.group([r for r in DATA if r["Rating"] >= 7], lambda r: r["Payment"])
    assert [row[0] for row in table["rows"]] == sorted(
        groups, key=lambda k: -sum(r["Total"] for r in groups[k])
    )
    for payment, revenue, lines in table["rows"]:
        assert revenue == pytest.approx(sum(r["Total"] for r in groups[payment]))
        assert lines == len({r["Product line"] for r in groups[payment]})


async def test_expected_errors_say_what_to_change(loaded: App) -> None:
    unknown = await gql(loaded, '{ salesSummary(filter: {datasource: "nope"}) { totalSales } }')
    assert unknown["errors"][0]["extensions"]["code"] == "UNKNOWN_DATASOURCE"
    assert "sales" in unknown["errors"][0]["extensions"]["detail"]
    column = await gql(
        loaded,
        '{ analytics(query: {datasource: "sales", measures: [{aggregate: SUM, column: "Price; DROP"}]}) { rows } }',
    )
    assert column["errors"][0]["extensions"]["code"] == "UNKNOWN_COLUMN"
    assert "Total" in column["errors"][0]["extensions"]["detail"]
    backwards = await gql(
        loaded,
        '{ salesSummary(filter: {dateFrom: "2019-03-01", dateTo: "2019-02-01"}) { totalSales } }',
    )
    assert backwards["errors"][0]["extensions"]["code"] == "BAD_RANGE"


async def test_an_empty_datasource_shows_zeros_and_one_row_works(app: App) -> None:
    empty = await data(
        app,
        "{ salesSummary { totalSales transactions } salesByBranch { key } rowCount datasources { name rowCount } }",
    )
    assert empty["salesSummary"] == {"totalSales": 0.0, "transactions": 0}
    assert empty["salesByBranch"] == [] and empty["rowCount"] == 0
    assert empty["datasources"] == [{"name": "sales", "rowCount": 0}]

    one = sales_csv(rows=1, seed=42)
    await wait_for_task(app.client, (await upload(app.client, content=one)).json()["task_id"])
    result = await data(
        app,
        "{ salesSummary { totalSales transactions averageBasket } salesTrend(granularity: HOUR) { transactions } }",
    )
    assert result["salesSummary"]["transactions"] == 1
    assert result["salesSummary"]["averageBasket"] == result["salesSummary"]["totalSales"]
    hours = [p["transactions"] for p in result["salesTrend"]]
    assert len(hours) == 24 and sorted(hours) == [0] * 23 + [1]  # the whole day of the one sale


async def test_results_are_cached_and_new_data_is_seen_at_once(loaded: App) -> None:
    query = {"query": "{ salesSummary { transactions } }"}
    first = (await loaded.client.post("/graphql", json=query)).json()
    second = (await loaded.client.post("/graphql", json=query)).json()
    assert first["extensions"]["cache"]["misses"] >= 1
    assert second["extensions"]["cache"] == {
        "hits": first["extensions"]["cache"]["misses"],
        "misses": 0,
    }
    assert second["data"] == first["data"]

    more = sales_csv(rows=5, seed=99)
    await wait_for_task(
        loaded.client, (await upload(loaded.client, content=more)).json()["task_id"]
    )
    third = (await loaded.client.post("/graphql", json=query)).json()
    assert third["data"]["salesSummary"]["transactions"] == 1005
    assert third["extensions"]["cache"]["hits"] == 0


async def test_filter_values_match_ignoring_case_and_unknown_ones_are_named(loaded: App) -> None:
    exact = await gql(loaded, '{ rowCount(filter: {branches: ["A"], genders: ["Female"]}) }')
    folded = await gql(loaded, '{ rowCount(filter: {branches: ["a"], genders: ["female"]}) }')
    assert folded["data"] == exact["data"] and exact["data"]["rowCount"] > 0
    assert "warnings" not in folded.get("extensions", {})

    unknown = await gql(
        loaded, '{ salesSummary(filter: {branches: ["Z"], cities: ["Yangon"]}) { totalSales } }'
    )
    assert unknown["data"]["salesSummary"]["totalSales"] == 0.0
    (warning,) = unknown["extensions"]["warnings"]
    assert "Branch: no row has 'Z'" in warning and "'A', 'B', 'C'" in warning


async def test_a_datasource_without_sales_columns_says_what_each_field_needs(app: App) -> None:
    events = b"when,city,amount\n2024-01-01T10:00:00,Oslo,3\n2024-01-02T11:00:00,Bergen,4\n"
    accepted = await upload(app.client, content=events, filename="events.csv", datasource="events")
    assert (await wait_for_task(app.client, accepted.json()["task_id"]))["status"] == "succeeded"

    summary = await gql(app, '{ salesSummary(filter: {datasource: "events"}) { totalSales } }')
    (error,) = summary["errors"]
    assert error["extensions"]["code"] == "MISSING_COLUMNS"
    assert (
        "salesSummary needs the column(s) 'Total', 'gross income', 'Quantity', 'Rating'"
        in (error["message"])
    )
    branch = await gql(app, '{ rowCount(filter: {datasource: "events", branches: ["A"]}) }')
    assert branch["errors"][0]["extensions"]["code"] == "MISSING_COLUMNS"
    assert "has no 'Branch'" in branch["errors"][0]["message"]

    served = await data(
        app,
        '{ rowCount(filter: {datasource: "events"}) rows(filter: {datasource: "events"}) '
        "{ totalCount edges { node } } }",
    )
    assert served["rowCount"] == served["rows"]["totalCount"] == 2
    assert {e["node"]["city"] for e in served["rows"]["edges"]} == {"Oslo", "Bergen"}


async def test_the_heatmap_needs_only_a_total(app: App) -> None:
    """A cell shows sales and transactions: gross income and quantities are not asked for."""
    sparse = b"when,Total\n2024-01-01T10:00:00,3\n2024-01-01T10:30:00,4\n2024-01-02T11:00:00,5\n"
    accepted = await upload(app.client, content=sparse, filename="tills.csv", datasource="tills")
    assert (await wait_for_task(app.client, accepted.json()["task_id"]))["status"] == "succeeded"

    found = await data(
        app,
        '{ salesHeatmap(filter: {datasource: "tills"}) { dayOfWeek hour totalSales transactions } }',
    )
    cells = [c for c in found["salesHeatmap"] if c["transactions"]]
    assert cells == [  # 2024-01-01 was a Monday
        {"dayOfWeek": 1, "hour": 10, "totalSales": 7.0, "transactions": 2},
        {"dayOfWeek": 2, "hour": 11, "totalSales": 5.0, "transactions": 1},
    ]
    assert len(found["salesHeatmap"]) == 7 * 24


async def test_a_breakdown_computes_the_figures_asked_for(app: App) -> None:
    """A breakdown needs the columns of the figures a query selects (fragments included), so
    one of a file without gross income answers as long as gross income is not asked for."""
    tills = b"when,Branch,Total,Quantity\n2024-01-01T10:00:00,A,3,1\n2024-01-01T11:00:00,B,9,4\n"
    tills += b"2024-01-02T12:00:00,A,4,2\n"
    accepted = await upload(app.client, content=tills, filename="tills.csv", datasource="tills")
    assert (await wait_for_task(app.client, accepted.json()["task_id"]))["status"] == "succeeded"
    by_branch = 'salesByBranch(filter: {datasource: "tills"})'

    found = await data(app, f"{{ {by_branch} {{ key totalSales transactions share }} }}")
    assert found["salesByBranch"] == [
        {"key": "B", "totalSales": 9.0, "transactions": 1, "share": 56.25},
        {"key": "A", "totalSales": 7.0, "transactions": 2, "share": 43.75},
    ]
    units = await data(
        app, f"{{ {by_branch} {{ key ...U }} }} fragment U on SalesBreakdown {{ unitsSold }}"
    )
    assert units["salesByBranch"] == [{"key": "B", "unitsSold": 4}, {"key": "A", "unitsSold": 3}]
    (error,) = (await gql(app, f"{{ {by_branch} {{ key grossIncome }} }}"))["errors"]
    assert error["extensions"]["code"] == "MISSING_COLUMNS"
    assert "has no 'gross income'" in error["message"]


ALL_FIELDS = """query($f: SalesFilter) {
    salesSummary(filter: $f) { totalSales transactions averageBasket periodStart periodEnd
      previous { transactions } changePercent { totalSales } }
    salesTrend(filter: $f, granularity: DAY) { totalSales transactions }
    salesByBranch(filter: $f) { key } salesByCity(filter: $f) { key }
    salesByProductLine(filter: $f) { key } salesByPayment(filter: $f) { key }
    salesByCustomerType(filter: $f) { key } salesByGender(filter: $f) { key }
    profitability(by: MONTH, filter: $f) { key } topProductLines(filter: $f) { productLine }
    ratingDistribution(filter: $f) { count } salesHeatmap(filter: $f) { transactions }
    rows(filter: $f) { totalCount } rowCount(filter: $f) }"""


@pytest.mark.parametrize("outside", [{"dateFrom": "2020-01-01"}, {"dateTo": "2018-06-01"}])
async def test_a_one_sided_date_filter_outside_the_data_gives_zeros_on_every_field(
    loaded: App, outside: dict[str, str]
) -> None:
    result = await data(loaded, ALL_FIELDS, f=outside)
    summary = result["salesSummary"]
    assert (summary["totalSales"], summary["transactions"], summary["averageBasket"]) == (
        0.0,
        0,
        None,
    )
    assert summary["previous"]["transactions"] == 0
    assert summary["changePercent"]["totalSales"] is None
    assert summary["periodStart"] == summary["periodEnd"]  # an empty period at the given bound
    assert result["salesTrend"] == []
    for field in ("salesByBranch", "salesByCity", "salesByProductLine", "salesByPayment"):
        assert result[field] == [], field
    assert result["salesByCustomerType"] == result["salesByGender"] == []
    assert result["profitability"] == result["topProductLines"] == []
    assert {b["count"] for b in result["ratingDistribution"]} == {0}
    assert {c["transactions"] for c in result["salesHeatmap"]} == {0}
    assert result["rows"]["totalCount"] == result["rowCount"] == 0

    far = {"dateFrom": "2020-01-01", "dateTo": "2020-01-31"} | outside
    if "dateTo" in outside:
        far = {"dateFrom": "2018-01-01", "dateTo": "2018-06-01"}
    explicit = await data(loaded, ALL_FIELDS, f=far)
    for field, value in explicit.items():
        if field not in ("salesSummary", "salesTrend"):  # their periods are the ones given
            assert result[field] == value, field


async def test_a_one_sided_date_filter_inside_the_data_runs_to_its_first_or_last_day(
    loaded: App,
) -> None:
    result = await data(
        loaded,
        """query($from: SalesFilter, $to: SalesFilter) {
             late: salesTrend(filter: $from, granularity: DAY) { period transactions }
             early: salesSummary(filter: $to) { transactions periodStart periodEnd } }""",
        **{"from": {"dateFrom": "2019-03-30"}, "to": {"dateTo": "2019-01-01"}},
    )
    late = result["late"]
    assert [p["period"][:10] for p in late] == ["2019-03-30", "2019-03-31"]
    march_end = ex.select(DATA, dt.datetime(2019, 3, 30, tzinfo=UTC))
    assert sum(p["transactions"] for p in late) == len(march_end)
    early = result["early"]
    assert early["periodStart"][:10] == "2019-01-01" and early["periodEnd"][:10] == "2019-01-02"
    new_year = ex.select(DATA, end=dt.datetime(2019, 1, 2, tzinfo=UTC))
    assert early["transactions"] == len(new_year)


ANALYTICS = "query($q: AnalyticsQueryInput!) { analytics(query: $q) { columns rows } }"


@pytest.mark.parametrize("dimensions", [[], ["Branch"]])
async def test_ordering_by_period_needs_a_granularity(loaded: App, dimensions: list[str]) -> None:
    query = {
        "datasource": "sales",
        "measures": [{"aggregate": "COUNT"}],
        "dimensions": dimensions,
        "order": [{"name": "__period", "descending": True}],
    }
    (error,) = (await gql(loaded, ANALYTICS, q=query))["errors"]
    assert error["extensions"]["code"] == "BAD_RANGE"
    assert "__period needs a granularity" in error["message"]

    by_month = (await data(loaded, ANALYTICS, q=query | {"granularity": "MONTH"}))["analytics"]
    months = [row[0][:7] for row in by_month["rows"]]
    assert months[0] == "2019-03" and months == sorted(months, reverse=True)

    raw = await gql(loaded, ANALYTICS, q=query | {"measures": []})
    assert raw["errors"][0]["extensions"]["code"] == "BAD_RANGE"
    assert "raw rows have no __period" in raw["errors"][0]["message"]


async def test_raw_rows_are_ordered_by_any_column_of_the_datasource(loaded: App) -> None:
    query: dict[str, Any] = {
        "datasource": "sales",
        "measures": [],
        "limit": 2,
        "order": [{"name": "Total", "descending": True}],
    }
    table = (await data(loaded, ANALYTICS, q=query))["analytics"]
    total = table["columns"].index("Total")
    best = sorted((r["Total"] for r in DATA), reverse=True)[:2]
    assert [row[total] for row in table["rows"]] == pytest.approx(best)

    picked = (await data(loaded, ANALYTICS, q=query | {"dimensions": ["Invoice ID"]}))["analytics"]
    top = sorted(DATA, key=lambda r: -r["Total"])[:2]
    assert picked == {"columns": ["Invoice ID"], "rows": [[r["Invoice ID"]] for r in top]}

    unknown = await gql(loaded, ANALYTICS, q=query | {"order": [{"name": "Totals"}]})
    (error,) = unknown["errors"]
    assert error["extensions"]["code"] == "UNKNOWN_COLUMN"
    assert error["message"] == "datasource 'sales' has no column 'Totals'"
    assert "Total" in error["extensions"]["detail"]


async def test_an_aggregate_is_ordered_by_a_column_of_its_answer_only(loaded: App) -> None:
    query = {
        "datasource": "sales",
        "measures": [{"aggregate": "SUM", "column": "Total", "alias": "revenue"}],
        "dimensions": ["Branch"],
        "order": [{"name": "Total"}],
    }
    (error,) = (await gql(loaded, ANALYTICS, q=query))["errors"]
    assert error["extensions"]["code"] == "UNKNOWN_COLUMN"
    assert error["message"] == "the answer has no column 'Total' to order by"
    assert "Branch, revenue" in error["extensions"]["detail"]
    assert "add it to the dimensions" in error["extensions"]["detail"]


FLAGS = (
    b"when,member,amount\n"
    b"2024-01-01T00:00:00,true,3\n"
    b"2024-01-02T00:00:00,false,4\n"
    b"2024-01-02T12:00:00,,5\n"
)


async def _count(app: App, datasource: str, *filters: dict[str, Any]) -> Any:
    query = {
        "datasource": datasource,
        "measures": [{"aggregate": "COUNT", "alias": "n"}],
        "filters": list(filters),
    }
    return await gql(app, ANALYTICS, q=query)


@pytest.fixture
async def flags(app: App) -> App:
    accepted = await upload(app.client, content=FLAGS, filename="flags.csv", datasource="flags")
    assert (await wait_for_task(app.client, accepted.json()["task_id"]))["status"] == "succeeded"
    return app


def _equals(value: str | None) -> dict[str, Any]:
    return {"kind": "EQUALS", "column": "member", "values": [value]}


async def test_boolean_and_number_filter_values_are_parsed_strictly(flags: App) -> None:
    for value in ("true", "TRUE", "1", "False", "0", " false "):
        body = await _count(flags, "flags", _equals(value))
        assert body["data"]["analytics"]["rows"] == [[1]], (value, body)
    for value in ("maybe", "yes", "2", ""):
        (error,) = (await _count(flags, "flags", _equals(value)))["errors"]
        assert error["extensions"]["code"] == "BAD_RANGE", value
        assert "true or false" in error["extensions"]["detail"]
    for value in ("1_0", "nan"):
        bounds = {"kind": "RANGE", "column": "amount", "values": [value, None]}
        (error,) = (await _count(flags, "flags", bounds))["errors"]
        assert error["extensions"]["code"] == "BAD_RANGE", value


async def test_a_null_equals_or_in_value_matches_missing_values_as_on_druid(flags: App) -> None:
    missing = await _count(flags, "flags", _equals(None))
    assert missing["data"]["analytics"]["rows"] == [[1]]
    either = {"kind": "IN", "column": "member", "values": [None, "true"]}
    assert (await _count(flags, "flags", either))["data"]["analytics"]["rows"] == [[2]]


def _on_time(kind: str, *values: str) -> dict[str, Any]:
    return {"kind": kind, "column": "__time", "values": list(values)}


async def test_a_date_only_end_takes_in_its_day_in_every_form_the_parser_takes(
    flags: App,
) -> None:
    for to in ("2024-01-01", "20240101", "2024-W01-1", " 2024-01-01 "):
        body = await _count(flags, "flags", _on_time("DATE_RANGE", "2024-01-01", to))
        assert body["data"]["analytics"]["rows"] == [[1]], to  # the whole of 1 January
        body = await _count(flags, "flags", _on_time("RANGE", "2024-01-01", to))
        assert body["data"]["analytics"]["rows"] == [[1]], to  # not 2 January's midnight
    two_days = await _count(flags, "flags", _on_time("IN", "2024-01-01", "20240102"))
    assert two_days["data"]["analytics"]["rows"] == [[2]]  # the midnights, neither extended
    backwards = _on_time("DATE_RANGE", "2024-01-02", "20240101")
    (error,) = (await _count(flags, "flags", backwards))["errors"]
    assert error["extensions"]["code"] == "BAD_RANGE"
    assert "starts after it ends" in error["message"]

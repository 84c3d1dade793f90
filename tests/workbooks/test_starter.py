"""The default sales dashboard as a workbook: every widget's query runs over data.csv, its key
figures equal sums computed from the file; a saved copy's widgets come out as CSV equal to the
analytics result, with the workbook's filters added to each widget's."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from backend.analytics.query_input import build_query
from backend.workbooks import starter
from backend.workbooks.documents import Document
from backend.workbooks.widget_data import run_widget
from tests.conftest import App
from tests.factories import upload, wait_for_task

DATA = pl.read_csv("data.csv")


@pytest.fixture
async def loaded(app: App) -> AsyncIterator[App]:
    accepted = await upload(app.client, content=Path("data.csv").read_bytes())
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "succeeded", task
    yield app


async def test_every_starter_widget_runs_and_the_key_figures_match_the_file(loaded: App) -> None:
    answer = await loaded.client.get("/api/workbooks/starter", params={"datasource": "sales"})
    assert answer.status_code == 200, answer.text
    document = Document.model_validate(answer.json())
    assert document.title == "Sales overview" and document.visibility == "private"
    kinds = {w.kind for w in document.widgets}
    assert kinds == {
        "kpi", "trend", "breakdown", "profitability", "top_n", "rating_distribution", "heatmap",
    }  # fmt: skip
    analytics = loaded.runtime.analytics
    columns = await analytics.columns("sales")
    results = {}
    for widget in document.widgets:
        result = await analytics.run(build_query(widget.query, columns))
        assert result.rows, widget.title
        results[widget.title] = result.records()
    kpi = results["Key figures"][0]
    assert kpi["total_sales"] == pytest.approx(DATA["Total"].sum())
    assert kpi["gross_income"] == pytest.approx(DATA["gross income"].sum())
    assert kpi["transactions"] == DATA.height
    assert kpi["units_sold"] == DATA["Quantity"].sum()
    assert kpi["average_rating"] == pytest.approx(DATA["Rating"].mean())
    by_branch = {r["Branch"]: r["total_sales"] for r in results["Sales by branch"]}
    wanted = DATA.group_by("Branch").agg(pl.col("Total").sum()).rows()
    assert by_branch == pytest.approx(dict(wanted))
    assert len(results["Top product lines"]) == 5
    assert sum(r["count"] for r in results["Rating distribution"]) == DATA.height


async def test_the_starter_saves_as_a_workbook_of_ones_own(app: App) -> None:
    """Before any upload too: the sales datasource is declared, its columns checked later."""
    document = (await app.client.get("/api/workbooks/starter")).json()
    saved = await app.client.post("/api/workbooks", json=document)
    assert saved.status_code == 201, saved.text
    assert saved.json()["widgets"] == document["widgets"]


async def test_no_starter_over_a_datasource_without_the_sales_columns(loaded: App) -> None:
    accepted = await upload(loaded.client, content=b"sku,qty\nA1,2\n", datasource="orders")
    assert (await wait_for_task(loaded.client, accepted.json()["task_id"]))["status"] == "succeeded"
    lacking = await loaded.client.get("/api/workbooks/starter", params={"datasource": "orders"})
    assert lacking.status_code == 422
    assert "'orders' has no 'Total'" in lacking.json()["error"]
    unknown = await loaded.client.get("/api/workbooks/starter", params={"datasource": "nope"})
    assert unknown.status_code == 404 and "no datasource named 'nope'" in unknown.json()["error"]
    gql = await loaded.client.post(
        "/graphql", json={"query": '{ starterWorkbook(datasource: "orders") }'}
    )
    assert "has no 'Total'" in gql.json()["errors"][0]["message"]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def _saved_starter(app: App, filters: dict[str, Any]) -> dict[str, Any]:
    document = (await app.client.get("/api/workbooks/starter")).json()
    saved = await app.client.post("/api/workbooks", json={**document, "filters": filters})
    assert saved.status_code == 201, saved.text
    body: dict[str, Any] = saved.json()
    return body


async def test_a_widgets_csv_is_the_analytics_result_with_the_workbooks_filters(
    loaded: App,
) -> None:
    filters = {"from": "2019-01-01", "to": "2019-01-31", "branch": ["A", "B"]}
    saved = await _saved_starter(loaded, filters)
    index = next(i for i, w in enumerate(saved["widgets"]) if w["title"] == "Sales by city")
    answer = await loaded.client.get(f"/api/workbooks/{saved['id']}/widgets/{index}/data.csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="Sales_by_city.csv"' in answer.headers["content-disposition"]
    rows = _csv(answer.text)
    assert list(rows[0]) == ["City", "total_sales", "gross_income", "transactions", "units_sold"]
    january = DATA.with_columns(pl.col("Date").str.to_date("%m/%d/%Y")).filter(
        pl.col("Date").dt.month() == 1, pl.col("Branch").is_in(["A", "B"])
    )
    wanted = dict(january.group_by("City").agg(pl.col("Total").sum()).rows())
    assert {r["City"]: float(r["total_sales"]) for r in rows} == pytest.approx(wanted)
    assert {r["City"]: int(r["transactions"]) for r in rows} == dict(
        january.group_by("City").len().rows()
    )
    _, result = await run_widget(loaded.runtime.analytics, Document(**saved), index)
    assert [list(r.values()) for r in rows] == [
        [format(v, ".15g") if isinstance(v, float) else str(v) for v in row] for row in result.rows
    ]


async def test_a_widgets_csv_is_the_readmes_example_with_numbers_as_people_read_them(
    loaded: App,
) -> None:
    saved = await _saved_starter(loaded, {})
    answer = await loaded.client.get(f"/api/workbooks/{saved['id']}/widgets/2/data.csv")
    assert answer.status_code == 200, answer.text
    readme = Path("README.md").read_text()
    example = readme.split("/widgets/2/data.csv\n", 1)[1].split("# …", 1)[0]
    lines = [line.removeprefix("# ") for line in example.splitlines()]
    assert lines == answer.text.splitlines()[: len(lines)], answer.text[:300]
    assert "99999" not in answer.text and "00000000" not in answer.text


async def test_a_trend_csv_writes_periods_in_iso_and_numbers_unformatted(loaded: App) -> None:
    saved = await _saved_starter(loaded, {})
    index = next(i for i, w in enumerate(saved["widgets"]) if w["kind"] == "trend")
    answer = await loaded.client.get(f"/api/workbooks/{saved['id']}/widgets/{index}/data.csv")
    rows = _csv(answer.text)
    assert rows[0]["__period"] == "2019-01-01T00:00:00+00:00"
    assert len(rows) == DATA["Date"].n_unique()
    assert sum(float(r["total_sales"]) for r in rows) == pytest.approx(DATA["Total"].sum())
    assert all("," not in r["total_sales"] for r in rows)
    missing = await loaded.client.get(f"/api/workbooks/{saved['id']}/widgets/99/data.csv")
    assert missing.status_code == 404 and "no widget 99" in missing.json()["error"]


def test_the_starter_over_another_datasource_names_it_in_every_widget() -> None:
    document = starter.document("sales_eu")
    assert {w.query.datasource for w in document.widgets} == {"sales_eu"}

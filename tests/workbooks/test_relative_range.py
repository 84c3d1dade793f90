"""A workbook saved with a relative range (range=last-30-days, as the dashboard's URL holds it):
its widgets' CSV covers the days the range names today, not all the data nor the dates beside it."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import App
from tests.factories import upload, wait_for_task


@pytest.fixture
async def loaded(app: App) -> AsyncIterator[App]:
    accepted = await upload(app.client, content=Path("data.csv").read_bytes())
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "succeeded", task
    yield app


async def _city_rows(app: App, filters: dict[str, Any]) -> list[dict[str, str]]:
    document = (await app.client.get("/api/workbooks/starter")).json()
    saved = await app.client.post("/api/workbooks", json={**document, "filters": filters})
    assert saved.status_code == 201, saved.text
    body = saved.json()
    index = next(i for i, w in enumerate(body["widgets"]) if w["title"] == "Sales by city")
    answer = await app.client.get(f"/api/workbooks/{body['id']}/widgets/{index}/data.csv")
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_a_relative_range_decides_the_days_of_a_widgets_csv(loaded: App) -> None:
    # data.csv is from 2019: the last 30 days (from today) hold none of it, whatever `from` says.
    recent = await _city_rows(loaded, {"range": ["last-30-days"], "from": "2019-01-01"})
    assert recent == []
    everything = await _city_rows(loaded, {"range": ["all-time"], "to": "2019-01-31"})
    assert sum(int(r["transactions"]) for r in everything) == 1000


async def test_a_widgets_csv_keeps_a_formula_in_the_data_as_text(app: App) -> None:
    # Sibling of the rows download: a widget's CSV wrote a value such as =HYPERLINK(...) as it
    # was, which a spreadsheet runs as a formula when the file is opened.
    content = b'day,label,amount\n2024-01-01,"=HYPERLINK(""http://x"")",1\n2024-01-02,plain,2\n'
    accepted = await upload(app.client, content=content, datasource="labels")
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "succeeded", task
    widget = {
        "kind": "breakdown",
        "title": "By label",
        "size": {"width": 6, "height": 4},
        "query": {
            "datasource": "labels",
            "measures": [{"aggregate": "count", "alias": "rows"}],
            "dimensions": ["label"],
            "order": [{"name": "label"}],
        },
    }
    saved = await app.client.post(
        "/api/workbooks",
        json={"title": "Labels", "datasource": "labels", "widgets": [widget]},
    )
    assert saved.status_code == 201, saved.text
    answer = await app.client.get(f"/api/workbooks/{saved.json()['id']}/widgets/0/data.csv")
    assert answer.status_code == 200, answer.text
    labels = [row["label"] for row in csv.DictReader(io.StringIO(answer.text))]
    assert labels == ['\'=HYPERLINK("http://x")', "plain"]

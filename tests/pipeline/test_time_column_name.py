"""A file with a column named __time (the timestamp every row is given): used as the time column
where that is what it can only mean, refused with "rename the column" everywhere else, never
silently replaced."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import pytest

from tests.conftest import App
from tests.factories import read_dataset, sales_csv, upload, wait_for_task

FORMATS = ["csv", "parquet"]


def encoded(frame: pl.DataFrame, kind: str) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    if kind == "csv":
        frame.write_csv(buffer)
    else:
        frame.write_parquet(buffer)
    return f"data.{kind}", buffer.getvalue()


async def uploaded(app: App, frame: pl.DataFrame, kind: str, **kwargs: Any) -> dict[str, Any]:
    filename, content = encoded(frame, kind)
    response = await upload(app.client, content=content, filename=filename, **kwargs)
    assert response.status_code == 202, response.text
    return await wait_for_task(app.client, response.json()["task_id"])


def assert_refused(task: dict[str, Any]) -> None:
    assert task["status"] == "failed"
    assert task["error"]["code"] == "read_error"
    assert (
        "column named '__time'" in task["error"]["message"]
        or "'__time' does not" in (task["error"]["message"])
    )
    assert "Rename the column" in task["error"]["detail"]


def events(**columns: list[Any]) -> pl.DataFrame:
    return pl.DataFrame(columns).cast(pl.String)


@pytest.mark.parametrize("kind", FORMATS)
async def test_a_sales_file_with_a_time_column_named_time_is_refused(app: App, kind: str) -> None:
    sales = pl.read_csv(io.BytesIO(sales_csv(rows=5)), infer_schema=False)
    frame = sales.with_columns(pl.lit("2020-01-01T00:00:00").alias("__time"))
    assert_refused(await uploaded(app, frame, kind))


@pytest.mark.parametrize("kind", FORMATS)
async def test_a_new_datasource_takes_a_time_column_named_time_as_its_time_column(
    app: App, kind: str
) -> None:
    # "date" would be chosen by name; the file's __time is what the user means.
    frame = events(
        date=["2024-01-01", "2024-01-02"],
        __time=["2023-05-05T10:00:00", "2023-05-06T11:30:00"],
        n=["1", "2"],
    )
    task = await uploaded(app, frame, kind, datasource="events")
    assert task["status"] == "succeeded", task["error"]
    assert task["report"]["time_column"] == "__time"
    dataset = await read_dataset(app.runtime.store, f"datasets/events/{task['task_id']}.parquet")
    assert [str(t) for t in dataset["__time"]] == [
        "2023-05-05 10:00:00+00:00",
        "2023-05-06 11:30:00+00:00",
    ]


@pytest.mark.parametrize("kind", FORMATS)
async def test_a_time_column_named_time_is_refused_when_another_is_the_time_column(
    app: App, kind: str
) -> None:
    frame = events(date=["2024-01-01"], __time=["2023-05-05T10:00:00"], n=["1"])
    named_other = await uploaded(
        app, frame, kind, datasource="named", extra={"time_column": "date"}
    )
    assert_refused(named_other)

    not_times = events(date=["2024-01-01"], __time=["hello"], n=["1"])
    assert_refused(await uploaded(app, not_times, kind, datasource="words"))

    first = await uploaded(app, events(date=["2024-01-01"], n=["1"]), kind, datasource="known")
    assert first["status"] == "succeeded", first["error"]
    assert_refused(await uploaded(app, frame, kind, datasource="known"))

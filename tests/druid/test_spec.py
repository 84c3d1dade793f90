"""Druid ingestion specs: deterministic, compared with golden files, and stored on every task.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change (then review the diff).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from backend.auth.roles import Role
from backend.contracts.sales import SALES_COLUMNS
from backend.druid import rollup
from backend.druid.spec import (
    HttpLocation,
    InputFormat,
    LocalLocation,
    Mode,
    S3Location,
    SpecInput,
    build_spec,
    segment_granularity,
    widened,
    with_text_copies,
)
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task

GOLDEN = Path(__file__).parent / "golden"
UTC = dt.UTC
SALES = SpecInput(
    datasource="sales",
    columns=tuple((c.name, c.type.value) for c in SALES_COLUMNS),
    time_min=dt.datetime(2019, 1, 1, 10, 0, tzinfo=UTC),
    time_max=dt.datetime(2019, 3, 30, 20, 59, tzinfo=UTC),
    location=LocalLocation("/srv/ingest/var/storage/datasets/sales/0f1e2d.parquet"),
)


def check_golden(name: str, spec: dict[str, object]) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), (
        f"{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it)"
    )


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("sales_local_append", SALES),
        (
            "sales_s3_compatible_replace",
            SpecInput(
                **{
                    **vars(SALES),
                    "location": S3Location(
                        "sales-data",
                        "ingest/datasets/sales/0f1e2d.parquet",
                        "http://minio:9000",
                        "eu-west-1",
                    ),
                    "mode": Mode.REPLACE,
                    "max_concurrent_subtasks": 2,
                }
            ),
        ),
        (
            "sales_aws",
            SpecInput(
                **{**vars(SALES), "location": S3Location("b", "k.parquet", None, "us-east-1")}
            ),
        ),
        (
            "sales_http_json",
            SpecInput(
                **{
                    **vars(SALES),
                    "location": HttpLocation(
                        (
                            "http://api:8000/api/druid/files/druid/sales/0f1e2d.json.gz"
                            "?signature=REDACTED",
                        )
                    ),
                    "input_format": InputFormat.JSON,
                    "task_id": "ingest_0f1e2d_1a2b3c4d",
                    "ingest_task": "0f1e2d",
                }
            ),
        ),
        (
            "sales_http_csv_replace",
            SpecInput(
                **{
                    **vars(SALES),
                    "location": HttpLocation(("http://s3:9000/b/k.csv.gz?signature=REDACTED",)),
                    "input_format": InputFormat.CSV,
                    "mode": Mode.REPLACE,
                }
            ),
        ),
    ],
)
def test_specs_match_their_golden_files(name: str, spec: SpecInput) -> None:
    built = build_spec(spec)
    assert built == build_spec(spec)  # deterministic
    check_golden(name, built)


def test_specs_are_typed_and_cover_the_data() -> None:
    spec = build_spec(SALES)["spec"]
    dimensions = {d["name"]: d["type"] for d in spec["dataSchema"]["dimensionsSpec"]["dimensions"]}
    assert (dimensions["Quantity"], dimensions["Total"], dimensions["Branch"]) == (
        "long",
        "double",
        "string",
    )
    assert "__time" not in dimensions
    assert spec["dataSchema"]["granularitySpec"]["intervals"] == [
        "2019-01-01T00:00:00.000Z/2019-03-31T00:00:00.000Z"
    ]
    assert spec["tuningConfig"]["maxParseExceptions"] == 0


@pytest.mark.parametrize(
    ("days", "granularity"),
    [(0, "DAY"), (92, "DAY"), (93, "MONTH"), (5 * 366, "MONTH"), (5 * 366 + 1, "YEAR")],
)
def test_segment_granularity_follows_the_span(days: int, granularity: str) -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=UTC)
    assert segment_granularity(start, start + dt.timedelta(days=days)) == granularity


async def test_every_task_keeps_the_spec_for_its_stored_dataset(app: App) -> None:
    accepted = (await upload(app.client, content=sales_csv(rows=20))).json()
    task = await wait_for_task(app.client, accepted["task_id"])
    spec = task["druid_spec"]
    source = spec["spec"]["ioConfig"]["inputSource"]
    key = f"datasets/sales/{accepted['task_id']}.parquet"
    if app.backend.name == "embedded":
        assert source["type"] == "local"
        stored = app.runtime.store.local_path(key)
        assert stored is not None and Path(source["baseDir"], source["filter"]) == stored.resolve()
    else:
        assert source["type"] == "s3" and source["uris"][0].endswith(f"/ingest/{key}")
        assert source["clientConfig"]["enablePathStyleAccess"] is True
        assert source["endpointConfig"]["url"] == app.backend.settings.s3_endpoint_url
    assert spec["spec"]["dataSchema"]["dataSource"] == "sales"

    # It names where the data is stored: others than admins do not see it (found by a hostile
    # test: viewers read the server's storage path, or the S3 endpoint and bucket).
    for role in (Role.VIEWER, Role.UPLOADER):
        other = app.client_as(await app.token(role))
        rest = (await other.get(f"/api/ingest/status/{accepted['task_id']}")).json()
        listed = (await other.get("/api/ingest/tasks")).json()
        query = "query($id: ID!) { ingestionTask(taskId: $id) { druidSpec datasource } }"
        graphql = (
            await other.post(
                "/graphql", json={"query": query, "variables": {"id": accepted["task_id"]}}
            )
        ).json()
        assert rest["druid_spec"] is None and listed["items"][0]["druid_spec"] is None
        assert graphql["data"]["ingestionTask"] == {"druidSpec": None, "datasource": "sales"}
        answers = json.dumps([rest, listed, graphql])
        assert str(app.runtime.store.local_path("datasets") or "s3://") not in answers


def test_a_task_id_that_could_break_out_of_the_transform_expression_is_refused() -> None:
    with pytest.raises(ValueError, match="alphanumeric"):
        build_spec(SpecInput(**{**vars(SALES), "ingest_task": "x' || 'y"}))


def _sales_rollup(mode: Mode) -> dict[str, object]:
    raw = build_spec(
        SpecInput(
            **{
                **vars(SALES),
                "location": HttpLocation(("http://api:8000/k.json.gz?signature=REDACTED",)),
                "input_format": InputFormat.JSON,
                "task_id": "ingest_0f1e2d_1a2b3c4d",
                "ingest_task": "0f1e2d",
                "mode": mode,
            }
        )
    )
    choice = rollup.fit(
        raw,
        rollup.Choice(
            ("Branch", "City", "Product line", "Customer type", "Gender", "Payment", "Missing"),
            (("Quantity", "double"), ("Total", "double"), ("Invoice ID", "long")),
        ),
    )
    return rollup.rollup_spec(raw, choice, rollup.rollup_task_id("ingest_0f1e2d_1a2b3c4d"))


@pytest.mark.parametrize("mode", list(Mode))
def test_rollup_specs_match_their_golden_files(mode: Mode) -> None:
    """Same input and mode as the raw spec; hour grain; the measures typed as the raw spec loads
    them (Quantity stays long); columns the raw spec lacks are left out. An append's segments
    are a month where the raw rows' are a day (its interval widened to whole months); a replace
    keeps the raw rows' days, the ones it replaces."""
    spec = _sales_rollup(mode)
    check_golden(f"sales_rollup_{mode.value}", spec)
    schema = spec["spec"]["dataSchema"]  # type: ignore[index]
    periods = schema["granularitySpec"]
    if mode is Mode.APPEND:
        assert periods["segmentGranularity"] == "MONTH"
        assert periods["intervals"] == ["2019-01-01T00:00:00.000Z/2019-04-01T00:00:00.000Z"]
    else:
        assert periods["segmentGranularity"] == "DAY"
        assert periods["intervals"] == ["2019-01-01T00:00:00.000Z/2019-03-31T00:00:00.000Z"]
    assert schema["dataSource"] == "sales-rollup"
    assert spec["id"] == "ingest_0f1e2d_1a2b3c4d-rollup"
    metrics = {m["name"]: m.get("type") for m in schema["metricsSpec"]}
    assert metrics["__sum:Quantity"] == "longSum" and metrics["__min:Total"] == "doubleMin"
    assert "__sum:Invoice ID" not in metrics
    names = [d["name"] for d in schema["dimensionsSpec"]["dimensions"]]
    assert "Missing" not in names and "Quantity" not in names and "ingest_task_id" in names


@pytest.mark.parametrize(
    ("span", "granularity", "whole"),
    [
        ("2019-01-05T00:00:00.000Z/2019-03-31T00:00:00.000Z", "MONTH", "2019-01-01/2019-04-01"),
        ("2019-01-01T00:00:00.000Z/2019-02-01T00:00:00.000Z", "MONTH", "2019-01-01/2019-02-01"),
        ("2019-12-15T00:00:00.000Z/2019-12-16T00:00:00.000Z", "MONTH", "2019-12-01/2020-01-01"),
        ("2019-03-01T00:00:00.000Z/2021-02-01T00:00:00.000Z", "YEAR", "2019-01-01/2022-01-01"),
        ("2020-01-01T00:00:00.000Z/2021-01-01T00:00:00.000Z", "YEAR", "2020-01-01/2021-01-01"),
    ],
)
def test_an_interval_widens_to_whole_periods(span: str, granularity: str, whole: str) -> None:
    start, end = whole.split("/")
    assert widened(span, granularity) == f"{start}T00:00:00.000Z/{end}T00:00:00.000Z"


def test_numbers_taking_few_values_are_loaded_as_text_too_when_druid_can_name_them() -> None:
    """The raw spec as submitted: each chosen number (typed as the raw spec loads it, and named
    without a quote or backslash) gets a text copy computed by Druid from the same input; the
    stored spec and the rollup's spec are left as they were."""
    raw = build_spec(SpecInput(**{**vars(SALES), "ingest_task": "0f1e2d"}))
    choice = rollup.fit(
        raw,
        rollup.Choice(
            (), (("Rating", "double"), ("Quantity", "long")), ("Rating", "Quantity", "Branch")
        ),
    )
    assert choice.texts == ("Rating", "Quantity")  # Branch is text already
    submitted = with_text_copies(raw, choice.texts)
    schema = submitted["spec"]["dataSchema"]
    assert schema["transformSpec"]["transforms"][1:] == [
        {"type": "expression", "name": "__text:Rating", "expression": "cast(\"Rating\", 'STRING')"},
        {
            "type": "expression",
            "name": "__text:Quantity",
            "expression": "cast(\"Quantity\", 'STRING')",
        },
    ]
    names = [d["name"] for d in schema["dimensionsSpec"]["dimensions"]]
    assert names[-2:] == ["__text:Rating", "__text:Quantity"]
    assert "__text:Rating" not in json.dumps(raw)  # the stored spec is unchanged
    assert "__text" not in json.dumps(rollup.rollup_spec(raw, choice))
    quoted = {**vars(SALES), "columns": (*SALES.columns, ('Odd "x"', "Float64"))}
    odd = build_spec(SpecInput(**{**quoted, "ingest_task": "0f1e2d"}))
    assert rollup.fit(odd, rollup.Choice((), (), ('Odd "x"',))).texts == ()


def test_a_rollup_datasource_name_is_never_a_users() -> None:
    from backend.ingestion.uploads import DATASOURCE_PATTERN

    name = rollup.rollup_datasource("sales")
    assert DATASOURCE_PATTERN.match(name) is None

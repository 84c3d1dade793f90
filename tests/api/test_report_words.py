"""A bad file uploaded through the app reads the same words in the report (REST and GraphQL)
and in the rejected rows' reasons: "Quantity must be at least 1", not `fails
greater_than_or_equal_to(1)`; a derived column's expected value is its uploader's to see."""

from __future__ import annotations

import io
import json
import re

import polars as pl

from tests.api.test_datasource_access import callers, gql
from tests.conftest import App
from tests.factories import upload, wait_for_task
from tests.pipeline.test_words import HEADER, ROW

CALL = re.compile(r"fails \w+\(|type:|isin|greater_than")
TOTAL = "Total should be 548.97 (Quantity × Unit price + Tax 5%); the file has 600.00"
QUERY = """query($id: ID!) { ingestionTask(taskId: $id) { report {
    checks { column check message samples { row value message } } } } }"""


def bad_file() -> bytes:
    """Line 3: Quantity 0 (with cogs, Tax 5% and Total of 7); 4: Branch D; 5: a date in no
    accepted format; 6: a Total of 600.00 that gross income and the margin follow."""
    changes = [
        {},
        {"Quantity": "0"},
        {"Branch": "D"},
        {"Date": "13/45/2019"},
        {"Total": "600.00", "gross income": "77.17", "gross margin percentage": "12.861666667"},
    ]
    lines = [HEADER]
    for i, change in enumerate(changes):
        row = {**ROW, "Invoice ID": f"750-67-{8500 + i:04d}", **change}
        lines.append(",".join(row[c] for c in HEADER.split(",")))
    return ("\n".join(lines) + "\n").encode()


EXPECTED = {
    ("Quantity", "greater_than_or_equal_to(1)"): "Quantity must be at least 1",
    ("Quantity", "likely_cause"): (
        "Quantity must agree with cogs, Tax 5% and Total, which are computed from it"
    ),
    ("Branch", "isin(['A', 'B', 'C'])"): "Branch must be one of A, B, C",
    ("Date", "type:date"): "Date must look like 1/5/2019, 2019-01-05 or 2019-01-05 00:00:00",
    ("Total", "total_is_cogs_plus_tax"): "Total must equal Quantity × Unit price + Tax 5%",
}
REASONS = [
    "Quantity must be at least 1; Quantity is likely wrong: cogs, Tax 5% and Total fit a "
    "Quantity of 7; the file has 0",
    "Branch must be one of A, B, C",
    "Date must look like 1/5/2019, 2019-01-05 or 2019-01-05 00:00:00",
    TOTAL,
]


async def test_the_report_and_the_rejected_rows_say_each_check_in_words(app: App) -> None:
    who = await callers(app)
    accepted = await upload(who.owner, content=bad_file(), extra={"on_invalid": "skip"})
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert (task["rows_valid"], task["rows_rejected"]) == (1, 4), task

    checks = task["report"]["checks"]
    assert {(c["column"], c["check"]): c["message"] for c in checks} == EXPECTED
    total = next(c for c in checks if c["column"] == "Total")
    assert total["samples"] == [{"row": 6, "value": "600.0", "message": TOTAL}]
    assert not any(CALL.search(c["message"]) for c in checks)

    shown = (await gql(who.owner, QUERY, id=task["task_id"]))["data"]["ingestionTask"]
    by_check = {(c["column"], c["check"]): c for c in shown["report"]["checks"]}
    assert {k: c["message"] for k, c in by_check.items()} == EXPECTED
    assert by_check[("Total", "total_is_cogs_plus_tax")]["samples"][0]["message"] == TOTAL

    rejected = await who.owner.get(task["rejected_rows_url"])
    assert rejected.status_code == 200, rejected.text
    frame = pl.read_csv(io.BytesIO(rejected.content), infer_schema=False)
    assert frame["_reason"].to_list() == REASONS

    # The expected value tells the file's values: not to those who may not see them.
    for caller in ("viewer", "other"):
        hidden = await getattr(who, caller).get(f"/api/ingest/status/{task['task_id']}")
        assert hidden.status_code == 200, hidden.text
        assert "600.00" not in hidden.text and "548.97" not in hidden.text, caller
        assert (
            "Total must equal Quantity × Unit price + Tax 5%"
            in hidden.json()["report"]["checks"][-1]["message"]
        )
        graphql = await gql(getattr(who, caller), QUERY, id=task["task_id"])
        assert "600.00" not in json.dumps(graphql), caller

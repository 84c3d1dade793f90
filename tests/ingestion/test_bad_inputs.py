"""The bad-input corpus (tests/data/make_bad_files.py): every file ends in a clear 4xx or a failed
task whose report a user can act on; nothing crashes a worker and no task stays stuck."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import App
from tests.data.make_bad_files import write_corpus
from tests.factories import read_dataset, stored_keys, upload, wait_for_task

MANIFEST = json.loads((Path(__file__).parents[1] / "data" / "bad" / "manifest.json").read_text())


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad")
    assert write_corpus(out) == MANIFEST, (
        "tests/data/bad is stale: run tests/data/make_bad_files.py"
    )
    return out


def test_the_corpus_covers_at_least_thirty_kinds_of_bad_input() -> None:
    assert len(MANIFEST) >= 30


@pytest.mark.parametrize("case", MANIFEST, ids=[c["file"] for c in MANIFEST])
async def test_bad_input_ends_in_a_clear_answer(
    app: App, corpus: Path, case: dict[str, Any]
) -> None:
    content = (corpus / case["file"]).read_bytes()
    response = await upload(
        app.client, content=content, filename=case["file"], datasource=case["datasource"]
    )
    expect: str = case["expect"]

    if expect.isdigit():
        assert response.status_code == int(expect), response.text
        body = response.json()
        assert case["says"] in body["error"] and body["detail"]
        assert await stored_keys(app.runtime) == []
        return
    assert response.status_code == 202, response.text
    task = await wait_for_task(app.client, response.json()["task_id"], timeout=120)
    if expect == "succeeded":
        assert task["status"] == "succeeded", task["error"]
        return
    assert task["status"] == "failed"
    assert task["error"]["code"] == expect.split(":", 1)[1], task["error"]
    assert case["says"] in task["error"]["message"], task["error"]
    assert task["error"]["detail"]
    if task["error"]["code"] == "invalid_rows":
        report = task["report"]
        assert report["rows_rejected"] > 0 and report["checks"]
        assert all(s["row"] >= 2 for c in report["checks"] for s in c["samples"])
        rejected = await app.client.get(task["rejected_rows_url"])
        assert rejected.status_code == 200
        frame = pl.read_csv(io.BytesIO(rejected.content), infer_schema=False)
        assert frame.height == report["rows_rejected"]
        assert {"_row", "_reason"} <= set(frame.columns)
        assert not await stored_keys(app.runtime, "datasets")  # reject policy: nothing loaded


async def test_formulas_are_kept_as_plain_text(app: App, corpus: Path) -> None:
    content = (corpus / "formula_cells.csv").read_bytes()
    accepted = (await upload(app.client, content=content, datasource="formulas")).json()
    task = await wait_for_task(app.client, accepted["task_id"])
    dataset = await read_dataset(
        app.runtime.store, f"datasets/formulas/{accepted['task_id']}.parquet"
    )
    assert dataset["formula"].to_list() == ["=SUM(A1:A3)", "=1+1"]
    assert task["report"]["time_column"] == "when"

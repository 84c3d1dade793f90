"""The one pass (backend.pipeline.fast_excel) loads a clean sheet, and whatever a sheet holds,
the outcome (report, dataset, rejected rows) is the one the batch path would give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.pipeline.normalize import OnInvalid, Outcome, UploadOptions
from backend.pipeline.sniff import FileFormat
from bench.generate_sales import HEADER, sales_rows
from tests.factories import xlsx_bytes
from tests.pipeline.one_pass import assert_same, run_normalize

ROWS = 30


def run(
    path: Path, *, one_pass: bool, options: UploadOptions | None = None, **kwargs: Any
) -> tuple[Outcome, dict[str, Any], list[bool]]:
    """normalize() with or without the one pass; what it left to compare; whether it was taken."""
    return run_normalize(
        path, FileFormat.XLSX, "load_clean_sheet", one_pass=one_pass, options=options, **kwargs
    )


@pytest.mark.parametrize("datasource", ["sales", "shop_eu"])
def test_a_clean_sheet_is_loaded_in_one_pass_exactly_as_the_batch_path_loads_it(
    tmp_path: Path, datasource: str
) -> None:
    path = tmp_path / "sales.xlsx"
    path.write_bytes(xlsx_bytes(rows=[HEADER, *sales_rows(ROWS)]))
    _, one, taken = run(path, one_pass=True, datasource=datasource)
    assert taken == [True]
    _, batch, _ = run(path, one_pass=False, datasource=datasource)
    assert_same(one, batch)
    assert one["report"]["rows_valid"] == ROWS
    assert one["report"]["format"] == "xlsx"


DAMAGES: dict[str, tuple[str, str]] = {
    "text in a number": ("Unit price", "twelve"),
    "spaces around a number": ("Quantity", " 7 "),
    "unknown branch": ("Branch", "Z"),
    "space around a category (the reader trims it: loads)": ("Gender", " Male"),
    "blank required": ("Payment", ""),
    "whitespace only": ("Customer type", "   "),
    "spaces around text (the reader trims it: loads)": ("Product line", " Food and beverages "),
    "second date format (loads)": ("Date", "2019-01-05"),
    "bad date": ("Date", "13/45/2019"),
    "a time-of-day cell (loads)": ("Time", "time:0.5"),
    "invoice id shape": ("Invoice ID", "123-45-678"),
    "arithmetic": ("Tax 5%", "999.0"),
    "repeated invoice id": ("Invoice ID", "repeat"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_sheet_gets_the_batch_paths_outcome(tmp_path: Path, damage: str) -> None:
    rows = [list(row) for row in sales_rows(ROWS)]
    column, value = DAMAGES[damage]
    if value == "repeat":
        value = rows[1][0]
    rows[ROWS // 2][HEADER.index(column)] = value
    path = tmp_path / "sales.xlsx"
    path.write_bytes(xlsx_bytes(rows=[HEADER, *rows]))
    for options in (UploadOptions(), UploadOptions(on_invalid=OnInvalid.SKIP)):
        _, one, taken = run(path, one_pass=True, options=options)
        _, batch, _ = run(path, one_pass=False, options=options)
        assert_same(one, batch)
        if batch["report"]["rows_rejected"]:
            assert taken == [False]
        if "(loads)" in damage:
            assert batch["failure"] is None

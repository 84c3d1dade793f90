"""The one pass (backend.pipeline.fast_excel) loads a clean sheet, and whatever a sheet holds,
the outcome (report, dataset, rejected rows) is the one the batch path would give."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from backend.pipeline import normalize as normalize_module
from backend.pipeline.normalize import OnInvalid, Outcome, UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import ReadError
from bench.generate_sales import HEADER, sales_rows
from tests.factories import xlsx_bytes
from tests.pipeline.test_one_pass import assert_same

UPLOADED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
ROWS = 30


def run(
    path: Path, *, one_pass: bool, options: UploadOptions | None = None, **kwargs: Any
) -> tuple[Outcome, dict[str, Any], list[bool]]:
    """normalize() with or without the one pass; what it left to compare; whether it was taken."""
    workdir = Path(tempfile.mkdtemp(dir=path.parent))
    original = normalize_module.load_clean_sheet
    taken: list[bool] = []

    def spy(*args: Any, **kw: Any) -> Any:
        clean = original(*args, **kw) if one_pass else None
        taken.append(clean is not None)
        return clean

    normalize_module.load_clean_sheet = spy  # type: ignore[assignment]
    try:
        try:
            outcome = normalize(
                path,
                FileFormat.XLSX,
                workdir,
                datasource=kwargs.pop("datasource", "sales"),
                known_schema=kwargs.pop("known_schema", None),
                options=options or UploadOptions(),
                uploaded_at=UPLOADED,
            )
        except ReadError as exc:
            return Outcome(None), {"error": (exc.message, exc.detail)}, taken
    finally:
        normalize_module.load_clean_sheet = original  # type: ignore[assignment]
    seen = {
        "report": outcome.report.as_dict() if outcome.report else None,
        "failure": outcome.failure,
        "schema": outcome.schema.as_dict() if outcome.schema else None,
        "time_range": outcome.time_range,
        "rows": pl.read_parquet(outcome.dataset) if outcome.dataset else None,
        "rejected": outcome.rejected.read_bytes() if outcome.rejected else None,
        "files": sorted(p.name for p in workdir.iterdir()),
    }
    return outcome, seen, taken


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

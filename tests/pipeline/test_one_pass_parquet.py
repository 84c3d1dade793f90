"""The one pass (backend.pipeline.fast_parquet) loads clean Parquet files, and whatever a file
holds, the outcome (report, dataset, rejected rows) is the one the batch path would give."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.contracts.sales import sales_schema
from backend.contracts.types import ColumnType, convert_fast
from backend.pipeline import normalize as normalize_module
from backend.pipeline.fast_parquet import CONVERT_REFUSES_SPACES, load_clean_parquet
from backend.pipeline.normalize import OnInvalid, Outcome, UploadOptions
from backend.pipeline.sniff import FileFormat
from bench.generate_sales import HEADER, sales_rows
from tests.pipeline.one_pass import UPLOADED, assert_same, run_normalize

ROWS = 40
# As a typed export gives them: numbers as numbers, the day and the time of day as such.
TYPED = {
    "Unit price": pl.Float64,
    "Quantity": pl.Int64,
    "Tax 5%": pl.Float64,
    "Total": pl.Float64,
    "cogs": pl.Float64,
    "gross margin percentage": pl.Float64,
    "gross income": pl.Float64,
    "Rating": pl.Float64,
}


def sales_frame(typed: str = "text") -> pl.DataFrame:
    """Sales rows: all text ("text", as a CSV export gives), numbers typed ("numbers"), or
    numbers, day and time typed ("all")."""
    frame = pl.DataFrame(list(sales_rows(ROWS)), schema=HEADER, orient="row")
    if typed == "text":
        return frame
    frame = frame.with_columns(pl.col(name).cast(kind) for name, kind in TYPED.items())
    if typed == "all":
        frame = frame.with_columns(
            pl.col("Date").str.to_date("%m/%d/%Y"), pl.col("Time").str.to_time("%H:%M")
        )
    return frame


def run(
    path: Path, *, one_pass: bool, options: UploadOptions | None = None, **kwargs: Any
) -> tuple[Outcome, dict[str, Any]]:
    """normalize() with or without the one pass; also what it left to compare."""
    outcome, seen, _ = run_normalize(
        path, FileFormat.PARQUET, "load_clean_parquet", one_pass=one_pass, options=options, **kwargs
    )
    return outcome, seen


def spy_one_pass(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    taken: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        clean = load_clean_parquet(*args, **kwargs)
        taken.append(clean is not None)
        return clean

    monkeypatch.setattr(normalize_module, "load_clean_parquet", spy)
    return taken


@pytest.mark.parametrize("typed", ["text", "numbers", "all"])
@pytest.mark.parametrize("datasource", ["sales", "shop_eu"])
def test_a_clean_parquet_file_is_loaded_in_one_pass_exactly_as_the_batch_path_loads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: str, datasource: str
) -> None:
    path = tmp_path / "sales.parquet"
    sales_frame(typed).write_parquet(path, row_group_size=15)  # several row groups
    taken = spy_one_pass(monkeypatch)
    one = run(path, one_pass=True, datasource=datasource)
    assert taken == [True]
    batch = run(path, one_pass=False, datasource=datasource)
    assert_same(one[1], batch[1])
    assert one[1]["report"]["rows_valid"] == ROWS
    assert one[1]["report"]["format"] == "parquet"


def test_the_one_pass_reports_the_rows_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "sales.parquet"
    sales_frame("all").write_parquet(path)
    seen: list[int] = []
    clean = load_clean_parquet(
        path, tmp_path, sales_schema(), uploaded_at=UPLOADED, on_rows=seen.append
    )
    assert clean is not None and clean.report.rows_valid == ROWS
    assert seen[-1] == ROWS
    assert pl.read_parquet(clean.dataset).height == ROWS


def damaged(frame: pl.DataFrame, damage: str, row: int) -> pl.DataFrame:
    """`frame` with one kind of damage at `row` (or in a whole column)."""
    at = pl.int_range(pl.len()) == row

    def put(column: str, value: Any) -> pl.DataFrame:
        kind = frame.schema[column]
        return frame.with_columns(
            pl.when(at).then(pl.lit(value).cast(kind)).otherwise(pl.col(column)).alias(column)
        )

    numbers = frame.schema["Rating"] == pl.Float64
    if damage in PUT:
        column, text, number = PUT[damage]
        return put(column, number if numbers and column in TYPED else text)
    if damage == "repeated invoice id":
        return put("Invoice ID", frame["Invoice ID"][(row + 1) % frame.height])
    if damage == "extra column":
        return frame.with_columns(pl.lit("n").alias("note"))
    if damage == "missing column":
        return frame.drop("Rating")
    if damage == "name with spaces":
        return frame.rename({"Branch": " Branch "})
    if damage == "unsigned 64-bit quantity":
        return frame.with_columns(pl.col("Quantity").cast(pl.Int64).cast(pl.UInt64))
    if damage == "32-bit quantity (loads)":
        return frame.with_columns(pl.col("Quantity").cast(pl.Int64).cast(pl.Int32))
    if damage == "whole floats for a quantity (loads)":
        return frame.with_columns(pl.col("Quantity").cast(pl.Float64))
    if damage == "category column":
        return frame.with_columns(pl.col("Gender").cast(pl.Categorical))
    if damage == "no rows":
        return frame.head(0)
    raise AssertionError(damage)


# column, value in a text file, value in a typed file
PUT: dict[str, tuple[str, Any, Any]] = {
    "text in a number": ("Unit price", "twelve", None),
    "spaces around a number": ("Quantity", " 7 ", None),
    "tab before a number": ("Unit price", "\t12.5", None),
    "no-break space after a number": ("Rating", "7.1\u00a0", None),
    "NaN": ("Rating", "NaN", float("nan")),
    "infinity": ("cogs", "inf", float("inf")),
    "missing required number": ("Total", None, None),
    "arithmetic": ("Tax 5%", "999.0", 999.0),
    "unknown branch": ("Branch", "Z", "Z"),
    "space around a category": ("Gender", " Male", " Male"),
    "empty text": ("Payment", "", ""),
    "whitespace only": ("Customer type", "   ", "   "),
    "spaces around text": ("Product line", " Food and beverages ", " Food and beverages "),
    "NUL byte": ("Product line", "Food\x00", "Food\x00"),
    "bad date": ("Date", "13/45/2019", "13/45/2019"),
    "second date format (loads)": ("Date", "2019-01-05", "2019-01-05"),
    "invoice id shape": ("Invoice ID", "123-45-678", "123-45-678"),
}
DAMAGES = [
    *PUT,
    "repeated invoice id",
    "extra column",
    "missing column",
    "name with spaces",
    "unsigned 64-bit quantity",
    "32-bit quantity (loads)",
    "whole floats for a quantity (loads)",
    "category column",
    "no rows",
]


def write_damaged(path: Path, damage: str, typed: str, row: int) -> None:
    frame = sales_frame(typed)
    if typed == "all" and damage in ("bad date", "second date format (loads)"):
        frame = sales_frame("numbers")  # a day as text in an otherwise typed file
    damaged(frame, damage, row).write_parquet(path, row_group_size=15)


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("typed", ["text", "all"])
def test_a_damaged_parquet_file_gets_the_batch_paths_outcome(
    tmp_path: Path, damage: str, typed: str
) -> None:
    path = tmp_path / "sales.parquet"
    write_damaged(path, damage, typed, row=ROWS // 2)
    if "(loads)" not in damage:
        assert load_clean_parquet(path, tmp_path, sales_schema(), uploaded_at=UPLOADED) is None
        assert not (tmp_path / "dataset.parquet").exists()
    for options in (UploadOptions(), UploadOptions(on_invalid=OnInvalid.SKIP)):
        one, batch = (
            run(path, one_pass=True, options=options),
            run(path, one_pass=False, options=options),
        )
        assert_same(one[1], batch[1])


def test_numbers_as_whole_floats_or_32_bit_load_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = spy_one_pass(monkeypatch)
    for damage in ("32-bit quantity (loads)", "whole floats for a quantity (loads)"):
        path = tmp_path / f"{damage}.parquet"
        write_damaged(path, damage, "all", row=0)
        outcome, _ = run(path, one_pass=True)
        assert outcome.dataset is not None
        assert pl.read_parquet(outcome.dataset).schema["Quantity"] == pl.Int64
    assert taken == [True, True]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    damage=st.sampled_from([*DAMAGES, "none"]),
    typed=st.sampled_from(["text", "numbers", "all"]),
    row=st.integers(min_value=0, max_value=ROWS - 1),
    skip=st.booleans(),
    datasource=st.sampled_from(["sales", "a_new_one"]),
)
def test_property_whatever_the_parquet_file_holds_both_paths_agree(
    damage: str, typed: str, row: int, skip: bool, datasource: str
) -> None:
    options = UploadOptions(on_invalid=OnInvalid.SKIP if skip else OnInvalid.REJECT)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sales.parquet"
        if damage == "none":
            sales_frame(typed).write_parquet(path, row_group_size=15)
        else:
            write_damaged(path, damage, typed, row)
        assert_same(
            run(path, one_pass=True, options=options, datasource=datasource)[1],
            run(path, one_pass=False, options=options, datasource=datasource)[1],
        )


WHITESPACE = [chr(code) for code in range(0x3001) if chr(code).isspace()]


@pytest.mark.parametrize("target", CONVERT_REFUSES_SPACES)
def test_text_with_any_space_around_it_does_not_convert_to_a_number(target: ColumnType) -> None:
    # The one pass relies on it to refuse such text without looking for spaces itself.
    padded = [f"{space}7" for space in WHITESPACE] + [f"7{space}" for space in WHITESPACE]
    values = pl.Series("v", ["7", *padded], dtype=pl.String)
    converted = values.to_frame().select(convert_fast(pl.col("v"), pl.String(), target))
    assert converted.to_series().to_list() == [7, *[None] * len(padded)]


@pytest.mark.parametrize(
    "columns",
    [{"a": [1, 2]}, {"a": [1, 2], "b": [0.5, 1.5]}, {"when": [True, False]}],
)
def test_a_file_of_typed_columns_that_need_no_check_loads(
    tmp_path: Path, columns: dict[str, list[Any]]
) -> None:
    # Every column already of its type: the pass has no check to run (it refused the file,
    # "cannot return empty fold").
    path = tmp_path / "typed.parquet"
    pl.DataFrame(columns).write_parquet(path)
    for one_pass in (True, False):
        outcome, seen = run(path, one_pass=one_pass, datasource="typed")
        assert outcome.failure is None and outcome.dataset is not None, seen
        assert pl.read_parquet(outcome.dataset).select(list(columns)).to_dict(as_series=False) == (
            columns
        )

"""A preview's overrides applied by the pipeline, on the one pass and on the batch path alike:
a type changed, dates read day first, a column renamed or dropped; a contract refuses another
type in words. The one pass steps aside for renames and drops (the batch path reads those)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from backend.contracts.types import ColumnType
from backend.pipeline import normalize as normalize_module
from backend.pipeline.normalize import Outcome, UploadOptions, normalize
from backend.pipeline.options import DateOrder, Overrides
from backend.pipeline.preview import build_preview
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import ReadError
from bench.generate_sales import sales_rows
from tests.pipeline.test_one_pass import ROWS, sales_csv

UPLOADED = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
READINGS = b"when,amount,code,note\n1/5/2019,10,007,a\n2/5/2019,20,008,b\n3/5/2019,30,009,c\n"


def run(tmp_path: Path, content: bytes, overrides: Overrides, one_pass: bool, **kw: str) -> Outcome:
    source = tmp_path / "data.csv"
    source.write_bytes(content)
    workdir = tmp_path / ("one" if one_pass else "batch")
    workdir.mkdir()
    original = normalize_module.load_clean_csv
    taken: list[bool] = []

    def watched(*args: object, **kwargs: object) -> object:
        found = original(*args, **kwargs)  # type: ignore[arg-type]
        taken.append(found is not None)
        return found

    normalize_module.load_clean_csv = watched if one_pass else (lambda *a, **k: None)  # type: ignore[assignment]
    try:
        outcome = normalize(
            source,
            FileFormat.CSV,
            workdir,
            datasource=kw.get("datasource", "readings"),
            known_schema=None,
            options=UploadOptions(overrides=overrides),
            uploaded_at=UPLOADED,
        )
    finally:
        normalize_module.load_clean_csv = original
    if one_pass and not (overrides.rename or overrides.drop) and outcome.failure is None:
        assert taken == [True]  # types and date order: the one pass loads it itself
    return outcome


def loaded(outcome: Outcome) -> pl.DataFrame:
    assert outcome.failure is None, outcome.failure
    assert outcome.dataset is not None
    return pl.read_parquet(outcome.dataset)


@pytest.mark.parametrize("one_pass", [True, False])
def test_a_type_and_the_day_first_date_order(tmp_path: Path, one_pass: bool) -> None:
    overrides = Overrides(types=(("amount", "float"),), date_order=DateOrder.DAY_FIRST)

    rows = loaded(run(tmp_path, READINGS, overrides, one_pass))

    assert rows["amount"].dtype == pl.Float64
    assert rows["when"].to_list() == [dt.date(2019, 5, d) for d in (1, 2, 3)]
    assert rows["code"].to_list() == ["007", "008", "009"]


@pytest.mark.parametrize("one_pass", [True, False])
def test_without_overrides_dates_are_month_first(tmp_path: Path, one_pass: bool) -> None:
    rows = loaded(run(tmp_path, READINGS, Overrides(), one_pass))

    assert rows["when"].to_list() == [dt.date(2019, m, 5) for m in (1, 2, 3)]
    assert rows["amount"].dtype == pl.Int64


@pytest.mark.parametrize("one_pass", [True, False])
def test_a_column_renamed_and_one_dropped(tmp_path: Path, one_pass: bool) -> None:
    overrides = Overrides(rename=(("code", "ref"),), drop=("note",))

    outcome = run(tmp_path, READINGS, overrides, one_pass)
    rows = loaded(outcome)

    assert [c for c in rows.columns if c != "__time"] == ["when", "amount", "ref"]
    assert rows["ref"].to_list() == ["007", "008", "009"]
    preview = build_preview(outcome.dataset, outcome.schema, overrides)  # type: ignore[arg-type]
    assert [(c["name"], c["source_name"]) for c in preview["columns"]] == [
        ("when", "when"),
        ("amount", "amount"),
        ("ref", "code"),
    ]


@pytest.mark.parametrize("one_pass", [True, False])
def test_a_rename_lets_a_file_match_the_sales_contract(tmp_path: Path, one_pass: bool) -> None:
    data = list(sales_rows(ROWS, seed=3))
    content = sales_csv(data).replace(b"Invoice ID,", b"Invoice,", 1)
    overrides = Overrides(rename=(("Invoice", "Invoice ID"),))

    rows = loaded(run(tmp_path, content, overrides, one_pass, datasource="sales"))

    assert rows.height == ROWS
    assert rows["Invoice ID"].to_list() == [r[0] for r in data]


@pytest.mark.parametrize("one_pass", [True, False])
def test_a_contract_refuses_another_type_in_words(tmp_path: Path, one_pass: bool) -> None:
    content = sales_csv(sales_rows(ROWS, seed=4))
    overrides = Overrides(types=(("Quantity", ColumnType.STRING.value),))

    with pytest.raises(ReadError) as refused:
        run(tmp_path, content, overrides, one_pass, datasource="sales")

    assert "must be integer in the sales contract" in refused.value.message
    assert refused.value.detail.endswith(".")


@pytest.mark.parametrize("one_pass", [True, False])
@pytest.mark.parametrize(
    ("column", "kind", "said"),
    [
        (
            "when",
            "integer",
            "none of its values (such as '1/5/2019', '2/5/2019', '3/5/2019') is a whole number",
        ),
        ("note", "date", "none of its values (such as 'a', 'b', 'c') is a date"),
    ],
)
def test_a_type_its_values_do_not_have_is_refused_naming_the_column_and_why(
    tmp_path: Path, one_pass: bool, column: str, kind: str, said: str
) -> None:
    overrides = Overrides(types=((column, kind),), rename=(("code", "ref"),))

    outcome = run(tmp_path, READINGS, overrides, one_pass)

    assert outcome.failure is not None and outcome.failure.code == "type_override_refused"
    message = outcome.failure.message
    assert message.startswith(f"the type {kind} asked for column {column!r} cannot apply: ")
    assert said in message
    assert "datasource" not in message and "expected" not in message
    assert f"Leave {column!r} out of overrides.types" in outcome.failure.detail


def test_the_preview_shows_types_samples_and_rules(tmp_path: Path) -> None:
    overrides = Overrides(date_order=DateOrder.DAY_FIRST)
    outcome = run(tmp_path, READINGS, overrides, one_pass=True)
    assert outcome.dataset is not None and outcome.schema is not None

    preview = build_preview(outcome.dataset, outcome.schema, overrides)

    when = preview["columns"][0]
    assert (when["type"], when["nullable"], when["distinct_estimate"]) == ("date", True, 3)
    assert when["samples"] == ["2019-05-01", "2019-05-02", "2019-05-03"]
    assert when["rule"].startswith("when must look like")
    assert (preview["time_column"], preview["date_order"]) == ("when", "day_first")
    assert preview["rows"][2] == ["2019-05-03", "30", "009", "c"]
    assert preview["overrides"]["date_order"] == "day_first"

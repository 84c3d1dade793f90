"""Every check a contract can declare reads as a sentence built from its column and parameters,
and a derived column's failure says the value it should have (or the input that is likely wrong).
Before: `fails greater_than_or_equal_to(1)`, `fails isin(['A', 'B', 'C'])`, a date "not in an
accepted format" without the formats, and one bad Quantity as three unrelated failures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import pytest

from backend.contracts import words
from backend.contracts.declared import DeclaredColumn, declare
from backend.contracts.sales import sales_schema
from backend.contracts.schema import ColumnSpec
from backend.contracts.types import ColumnType
from backend.pipeline.normalize import Outcome
from tests.pipeline.test_validation import run

HEADER = (
    "Invoice ID,Branch,City,Customer type,Gender,Product line,Unit price,Quantity,Tax 5%,Total,"
    "Date,Time,Payment,cogs,gross margin percentage,gross income,Rating"
)
# 74.69 × 7 = 522.83; Tax 5% 26.1415; Total 548.9715.
ROW = {
    "Invoice ID": "750-67-8428",
    "Branch": "A",
    "City": "Yangon",
    "Customer type": "Member",
    "Gender": "Female",
    "Product line": "Health and beauty",
    "Unit price": "74.69",
    "Quantity": "7",
    "Tax 5%": "26.1415",
    "Total": "548.9715",
    "Date": "1/5/2019",
    "Time": "13:08",
    "Payment": "Ewallet",
    "cogs": "522.83",
    "gross margin percentage": "4.761904762",
    "gross income": "26.1415",
    "Rating": "9.1",
}
CALL = re.compile(r"fails \w+\(")


@pytest.mark.parametrize(
    ("column", "check", "sentence"),
    [
        ("Quantity", pa.Check.ge(1), "Quantity must be at least 1"),
        ("Unit price", pa.Check.gt(0), "Unit price must be more than 0"),
        ("Discount", pa.Check.le(0.5), "Discount must be at most 0.5"),
        ("Age", pa.Check.lt(130), "Age must be less than 130"),
        ("Rating", pa.Check.in_range(1, 10), "Rating must be between 1 and 10"),
        (
            "Share",
            pa.Check.in_range(0, 1, include_min=False),
            "Share must be more than 0 and at most 1",
        ),
        ("Branch", pa.Check.isin(["A", "B", "C"]), "Branch must be one of A, B, C"),
        ("Branch", pa.Check.notin(["X"]), "Branch must not be one of X"),
        ("Currency", pa.Check.eq("EUR"), "Currency must be EUR"),
        ("Count", pa.Check.ne(0.0), "Count must not be 0"),
        (
            "Invoice ID",
            pa.Check.str_matches(r"^\d{3}-\d{2}-\d{4}$"),
            "Invoice ID must look like 123-45-6789 (digits where the example has digits)",
        ),
        ("Code", pa.Check.str_matches(r"^[A-Z]+$"), "Code must match the pattern ^[A-Z]+$"),
        ("SKU", pa.Check.str_startswith("SK-"), "SKU must start with SK-"),
        ("File", pa.Check.str_endswith(".csv"), "File must end with .csv"),
        ("Name", pa.Check.str_length(1, 40), "Name must have 1 to 40 characters"),
        (
            "Colour",
            pa.Check.isin([f"c{i}" for i in range(15)]),
            "Colour must be one of 15 listed values (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, "
            "c10, c11, ...)",
        ),
        (
            "Score",
            pa.Check(lambda data: data.lazyframe.select(pl.lit(True)), name="even_score"),
            "Score does not pass the contract's check “even score”",
        ),
    ],
)
def test_each_check_kind_reads_as_a_sentence(column: str, check: pa.Check, sentence: str) -> None:
    assert words.check_sentence(column, check) == sentence
    assert not CALL.search(sentence)


def test_an_unknown_check_name_is_said_without_its_call() -> None:
    said = words.fallback("Quantity", "my_check(3, 'x')")
    assert said == "Quantity does not pass the contract's check “my check”"


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        (ColumnSpec("Quantity", ColumnType.INTEGER), "Quantity must be a whole number"),
        (
            ColumnSpec("Unit price", ColumnType.FLOAT),
            "Unit price must be a number (with . for decimals and no thousands separators)",
        ),
        (
            ColumnSpec("Paid", ColumnType.BOOLEAN),
            "Paid must be true or false (yes/no and 1/0 are read too)",
        ),
        (
            ColumnSpec("Date", ColumnType.DATE, ("%m/%d/%Y", "%Y-%m-%d")),
            "Date must look like 1/5/2019 or 2019-01-05",
        ),
        (
            ColumnSpec(
                "Day", ColumnType.DATE
            ),  # both day orders accepted: the 25th tells them apart
            "Day must look like 2019-01-25, 1/25/2019, 25/1/2019, 25.1.2019 or 2019/1/25",
        ),
        (
            ColumnSpec("Time", ColumnType.TIME, ("%H:%M", "%H:%M:%S")),
            "Time must look like 13:45 or 13:45:00",
        ),
        (
            ColumnSpec("At", ColumnType.DATETIME, ("epoch_s",)),
            "At must look like 1546695900 (seconds since 1970)",
        ),
    ],
)
def test_each_type_reads_as_a_sentence_with_the_accepted_formats(
    spec: ColumnSpec, sentence: str
) -> None:
    assert words.type_sentence(spec.name, spec) == sentence


def test_the_sales_date_lists_the_formats_its_parser_accepts() -> None:
    date = next(c for c in sales_schema().columns if c.name == "Date")
    assert words.type_sentence("Date", date) == (
        "Date must look like 1/5/2019, 2019-01-05 or 2019-01-05 00:00:00"
    )


def test_a_declared_contract_has_a_sentence_for_every_check_it_can_fail() -> None:
    declaration = declare(
        [
            DeclaredColumn("sku", ColumnType.STRING, allowed=("a", "b")),
            DeclaredColumn("qty", ColumnType.INTEGER, minimum=1, maximum=99),
            DeclaredColumn("day", ColumnType.DATE, required=False),
        ],
        time_column="day",
        unique="sku",
    )
    found = words.sentences(declaration.schema(), lambda c: c.upper())

    assert found[("sku", "isin(['a', 'b'])")] == "SKU must be one of a, b"
    assert found[("qty", "greater_than_or_equal_to(1)")] == "QTY must be at least 1"
    assert found[("qty", "less_than_or_equal_to(99)")] == "QTY must be at most 99"
    assert found[("qty", "type:integer")] == "QTY must be a whole number"
    assert found[("sku", "not_null")] == "SKU must not be empty"
    assert found[("sku", "unique")] == "SKU must be unique in the file"
    assert found[("sku", "already_loaded")] == (
        "SKU must not repeat a value this datasource already holds"
    )
    assert found[(None, "field_count")] == "The row must have as many fields as the header"
    assert not any(CALL.search(s) for s in found.values())


def sales_file(tmp_path: Path, *changes: dict[str, str], header: str = HEADER) -> Outcome:
    """One row per change (ROW with the change), each with an invoice of its own."""
    lines = [header]
    for i, change in enumerate(changes):
        row = {**ROW, "Invoice ID": f"750-67-{8400 + i:04d}", **change}
        lines.append(",".join(row[c] for c in HEADER.split(",")))
    return run(tmp_path, ("\n".join(lines) + "\n").encode())


def found(outcome: Outcome) -> dict[tuple[str | None, str], dict[str, Any]]:
    assert outcome.report is not None
    return {(c["column"], c["check"]): c for c in outcome.report.as_dict()["checks"]}


def reasons(outcome: Outcome) -> list[str]:
    assert outcome.rejected is not None
    return pl.read_csv(outcome.rejected, infer_schema=False)["_reason"].to_list()


def test_a_derived_column_says_the_value_it_should_have(tmp_path: Path) -> None:
    # Total alone is off: gross income and the margin are computed from the 600 as they should.
    outcome = sales_file(
        tmp_path,
        {},
        {"Total": "600.00", "gross income": "77.17", "gross margin percentage": "12.861666667"},
        {"City": "Mandalay"},
    )

    checks = found(outcome)
    total = checks[("Total", "total_is_cogs_plus_tax")]
    assert total["message"] == "Total must equal Quantity × Unit price + Tax 5%"
    said = "Total should be 548.97 (Quantity × Unit price + Tax 5%); the file has 600.00"
    assert total["samples"] == [{"row": 3, "value": "600.0", "message": said}]
    city = checks[("City", "city_matches_branch")]
    assert city["message"] == (
        "City must be the city of its Branch (A: Yangon, B: Mandalay, C: Naypyitaw)"
    )
    assert city["samples"][0]["message"] == (
        "City should be Yangon (the city of its Branch); the file has Mandalay"
    )
    assert reasons(outcome) == [said, city["samples"][0]["message"]]


def test_one_wrong_quantity_is_named_once_as_the_likely_cause(tmp_path: Path) -> None:
    outcome = sales_file(tmp_path, {"Quantity": "10"}, {"Quantity": "0"}, {})

    checks = found(outcome)
    cause = checks[("Quantity", "likely_cause")]
    assert cause["message"] == (
        "Quantity must agree with cogs, Tax 5% and Total, which are computed from it"
    )
    assert [s["message"] for s in cause["samples"]] == [
        "Quantity is likely wrong: cogs, Tax 5% and Total fit a Quantity of 7; the file has 10",
        "Quantity is likely wrong: cogs, Tax 5% and Total fit a Quantity of 7; the file has 0",
    ]
    # Not three more failures (cogs, Tax 5%, Total) for the same rows.
    assert set(checks) == {
        ("Quantity", "likely_cause"),
        ("Quantity", "greater_than_or_equal_to(1)"),
    }
    assert checks[("Quantity", "greater_than_or_equal_to(1)")]["message"] == (
        "Quantity must be at least 1"
    )
    assert reasons(outcome) == [
        cause["samples"][0]["message"],
        f"Quantity must be at least 1; {cause['samples'][1]['message']}",
    ]


@pytest.mark.parametrize(("price", "has"), [("1E-9", "1e-9"), ("0.0001", "0.0001")])
def test_an_input_is_not_blamed_for_what_an_implausible_other_input_did(
    tmp_path: Path, price: str, has: str
) -> None:
    # A Unit price below a cent (a cell that lost its scale): cogs / Unit price is a whole
    # number, so "Quantity is likely wrong: ... fit a Quantity of 522830000000" fitted every
    # derived column, but only beside that price. The price is the input to name.
    outcome = sales_file(tmp_path, {"Unit price": price})

    said = [s["message"] for c in found(outcome).values() for s in c["samples"]]
    assert said == [
        "Unit price is likely wrong: cogs, Tax 5% and Total fit a Unit price of 74.69; the "
        f"file has {has}"  # as written, not "0.00": two decimals would hide what is there
    ]


def test_a_wrong_derived_value_is_named_with_the_columns_that_follow_it(tmp_path: Path) -> None:
    outcome = sales_file(tmp_path, {"Tax 5%": "30.00"}, {"Total": "600.00"})

    said = [s["message"] for c in found(outcome).values() for s in c["samples"]]
    assert said == [
        "Tax 5% is likely wrong: it should be 26.14 (5% of Quantity × Unit price), which Total "
        "agrees with; the file has 30.00",
        "Total is likely wrong: it should be 548.97 (Quantity × Unit price + Tax 5%), which "
        "gross income and gross margin percentage agree with; the file has 600.00",
    ]


def test_a_value_the_decimals_would_round_is_said_as_the_file_has_it(tmp_path: Path) -> None:
    outcome = sales_file(tmp_path, {}, {"Total": "600.004"})

    said = [s["message"] for c in found(outcome).values() for s in c["samples"]]
    assert said == [
        "Total is likely wrong: it should be 548.97 (Quantity × Unit price + Tax 5%), which "
        "gross income and gross margin percentage agree with; the file has 600.004",
    ]


def test_sentences_name_columns_as_the_file_does(tmp_path: Path) -> None:
    header = HEADER.replace("Quantity", "quantity").replace("Branch", " BRANCH ")
    outcome = sales_file(tmp_path, {"Quantity": "seven"}, {"Branch": "D"}, header=header)

    assert reasons(outcome) == [
        "quantity must be a whole number",
        "BRANCH must be one of A, B, C",
    ]
    checks = found(outcome)
    assert checks[("Quantity", "type:integer")]["message"] == "quantity must be a whole number"


@pytest.mark.parametrize(
    "change",
    [{"Total": "1e17"}, {"Total": "1e308"}, {"Unit price": "1e300"}, {"Quantity": "10" * 9}],
)
def test_a_huge_value_is_a_rejected_row_not_an_unreadable_file(
    tmp_path: Path, change: dict[str, str]
) -> None:
    # Before: the expected value said with fixed decimals overflowed a 64-bit integer and the
    # whole file failed ("the file cannot be read: conversion from `f64` to `i64` failed").
    outcome = sales_file(tmp_path, {}, change)

    assert outcome.report is not None
    assert outcome.report.as_dict()["checks"]
    assert len(reasons(outcome)) == 1


def test_a_negative_unit_price_is_named_not_the_quantity(tmp_path: Path) -> None:
    # Before: "Quantity is likely wrong: cogs, Tax 5% and Total fit a Quantity of -7; the file
    # has 7": a negative quantity was taken as a plausible value for the input at fault.
    outcome = sales_file(tmp_path, {"Unit price": "-74.69"})

    said = [c["samples"][0].get("message") for c in found(outcome).values() if c["samples"]]
    assert not any("Quantity" in (s or "") for s in said), said
    assert (
        "Unit price is likely wrong: cogs, Tax 5% and Total fit a Unit price of 74.69; "
        "the file has -74.69"
    ) in said, said

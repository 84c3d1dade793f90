"""The types a new datasource's columns get from the first rows of its first upload."""

from __future__ import annotations

import polars as pl
import pytest

from backend.contracts.types import ColumnType
from backend.pipeline.inference import PROBE_ROWS, infer_column

LATER = PROBE_ROWS + 500  # past the first rows every type is tried on first

CASES: dict[str, tuple[list[str | None], ColumnType, tuple[str, ...]]] = {
    "whole numbers": (["1", "-2", "+3"], ColumnType.INTEGER, ()),
    "numbers with spaces around them": ([" 7 ", "8\t", "\u00a09"], ColumnType.INTEGER, ()),
    "empty cells among numbers": (["1", None, "", "2"], ColumnType.INTEGER, ()),
    "only spaces among numbers": (["1", "   ", "2"], ColumnType.STRING, ()),
    "decimals": (["0.5", "1", "2.25"], ColumnType.FLOAT, ()),
    "identifiers with leading zeros": (["00123", "00456"], ColumnType.STRING, ()),
    "a padded identifier with a leading zero": (["123", " 0456 "], ColumnType.STRING, ()),
    "zero alone": (["0", "10"], ColumnType.INTEGER, ()),
    "yes and no": (["yes", "no", "TRUE"], ColumnType.BOOLEAN, ()),
    "days": (["2024-01-02", " 2024-01-03 "], ColumnType.DATE, ("%Y-%m-%d",)),
    "days month first": (["01/02/2024", "12/31/2024"], ColumnType.DATE, ("%m/%d/%Y",)),
    "times": (["10:29", "23:59"], ColumnType.TIME, ("%H:%M",)),
    "timestamps": (
        ["2024-01-02 10:00", "2024-01-03 11:30"],
        ColumnType.DATETIME,
        ("%Y-%m-%d %H:%M",),
    ),
    "mixed ISO timestamps": (
        ["2024-01-02T10:00:00Z", "2024-01-03 11:30", "2024-01-04T12:00:00+02:00"],
        ColumnType.DATETIME,
        (),
    ),
    "words": (["Food", "Sports"], ColumnType.STRING, ()),
    "nothing": ([None, "", None], ColumnType.STRING, ()),
    "text only after the first rows": (
        ["1"] * LATER + ["one"],
        ColumnType.STRING,
        (),
    ),
    "a decimal only after the first rows": (["1"] * LATER + ["1.5"], ColumnType.FLOAT, ()),
    "a leading zero only after the first rows": (
        ["1"] * LATER + ["007"],
        ColumnType.STRING,
        (),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_text_column_gets_the_first_type_all_its_values_have(case: str) -> None:
    values, kind, formats = CASES[case]
    spec = infer_column("c", pl.Series("c", values, dtype=pl.String))
    assert (spec.type, spec.formats) == (kind, formats)

"""The rejected-rows CSV, safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list for CSV
injection), or with their full-width forms (which some Excel input methods turn into the ASCII
ones), is a formula to Excel, LibreOffice and Google Sheets, and can run commands or send data
away. Such a cell, header names included, is written with a single quote `'` in front, so a
spreadsheet shows it as text. A value that already starts with `'` gets one more. So the rule to
get the original back is always the same: if a cell starts with `'`, remove exactly one.

A cell that is a plain decimal number (`-5`, `+1.5`, `-3.00`, `-1e5`) is left as it is: it
cannot hold a formula, spreadsheets read it as the number it is, and negative numbers are
ordinary data (often the very reason a row was rejected), which a quote would turn into text a
user has to clean before uploading the rows again.
"""

from __future__ import annotations

import re
from typing import IO

import polars as pl

QUOTE = "'"
# Read the same by Python's re and by Polars (Rust's regex): literal characters, "-" last.
_NEEDS_QUOTE = "^[=+@\t\r'\uff1d\uff0b\uff20\uff0d-]"
_NUMBER = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"


def neutralise(value: str) -> str:
    if re.match(_NEEDS_QUOTE, value) and not re.fullmatch(_NUMBER[1:-1], value):
        return QUOTE + value
    return value


def _neutralised(column: str) -> pl.Expr:
    text = pl.col(column)
    risky = text.str.contains(_NEEDS_QUOTE) & ~text.str.contains(_NUMBER)
    return pl.when(risky).then(pl.lit(QUOTE) + text).otherwise(text).alias(column)


def for_spreadsheets(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows with every text cell and every column name neutralised."""
    texts = [_neutralised(name) for name, kind in rows.schema.items() if kind == pl.String]
    # One-to-one (a quote is added exactly to names that start with one), so names stay unique.
    return rows.with_columns(texts).rename(neutralise)


def write_rejected(rows: pl.DataFrame, target: IO[bytes], *, header: bool) -> None:
    for_spreadsheets(rows).write_csv(target, include_header=header)

"""Pandera checks as Polars expressions, so that a whole file can be checked inside one streaming
plan (backend.pipeline.fast) instead of one collect per check.

Pandera stays the declaration: built-in checks are read back from their name and statistics and
turned into the comparison Pandera's polars backend makes for them (`pandera.backends.polars.
builtin_checks`); row-wide checks are made with `row_check`, which keeps the expression beside the
Pandera check that runs it. A check this module does not know gives None: the caller then takes
the batch path, where Pandera runs every check itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandera.polars as pa
import polars as pl

# Row-wide checks by name: the expression each one evaluates (True = the row passes).
_ROW_EXPRESSIONS: dict[str, pl.Expr] = {}


def row_check(name: str, passes: pl.Expr) -> pa.Check:
    """A Pandera row-wide check whose expression can also be read back by name."""
    _ROW_EXPRESSIONS[name] = passes
    return pa.Check(lambda data: data.lazyframe.select(passes.alias("check")), name=name)


def _in_range(column: pl.Expr, stats: dict[str, Any]) -> pl.Expr:
    low = column.ge if stats.get("include_min", True) else column.gt
    high = column.le if stats.get("include_max", True) else column.lt
    return low(stats["min_value"]) & high(stats["max_value"])


def _matches(column: pl.Expr, stats: dict[str, Any]) -> pl.Expr:
    pattern = stats["pattern"]
    pattern = getattr(pattern, "pattern", pattern)
    return column.str.contains(pattern if pattern.startswith("^") else f"^{pattern}")


_BUILT_IN: dict[str, Callable[[pl.Expr, dict[str, Any]], pl.Expr]] = {
    "equal_to": lambda c, s: c.eq(s["value"]),
    "not_equal_to": lambda c, s: c.ne(s["value"]),
    "greater_than": lambda c, s: c.gt(s["min_value"]),
    "greater_than_or_equal_to": lambda c, s: c.ge(s["min_value"]),
    "less_than": lambda c, s: c.lt(s["max_value"]),
    "less_than_or_equal_to": lambda c, s: c.le(s["max_value"]),
    "in_range": _in_range,
    "isin": lambda c, s: c.is_in(list(s["allowed_values"])),
    "notin": lambda c, s: c.is_in(list(s["forbidden_values"])).not_(),
    "str_matches": _matches,
    "str_startswith": lambda c, s: c.str.starts_with(s["string"]),
    "str_endswith": lambda c, s: c.str.ends_with(s["string"]),
}


def _fixed_text(check: pa.Check) -> bool:
    """Only text from a fixed set passes: no value with spaces at either end, NUL or nothing."""
    stats = dict(check.statistics or {})
    if check.name == "isin":
        values = list(stats.get("allowed_values", []))
    elif check.name == "equal_to":
        values = [stats.get("value")]
    else:
        return False
    return bool(values) and all(
        isinstance(v, str) and v and v == v.strip() and "\x00" not in v for v in values
    )


def column_check(column: str, check: pa.Check) -> pl.Expr | None:
    """The check on `column` as an expression (nulls pass, as with Pandera's ignore_na)."""
    build = _BUILT_IN.get(check.name or "")
    if build is None or not check.ignore_na or check.element_wise:
        return None
    return build(pl.col(column), dict(check.statistics or {})).fill_null(True)


def schema_checks(schema: pa.DataFrameSchema) -> list[pl.Expr] | None:
    """Every check of the schema (column and row-wide) as expressions, or None if one of them is
    not known here."""
    found: list[pl.Expr] = []
    for name, column in schema.columns.items():
        for check in column.checks:
            expr = column_check(str(name), check)
            if expr is None:
                return None
            found.append(expr)
    for check in schema.checks:
        passes = _ROW_EXPRESSIONS.get(check.name or "")
        if passes is None:
            return None
        found.append(passes)
    return found


def strictly_checked(schema: pa.DataFrameSchema) -> set[str]:
    """Text columns whose values must be one of a fixed set of plain values: neither a value
    with spaces around it (which the batch path trims) nor a NUL byte passes their check."""
    return {
        str(name)
        for name, column in schema.columns.items()
        if any(_fixed_text(check) for check in column.checks)
    }

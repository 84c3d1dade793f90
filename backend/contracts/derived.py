"""Columns a contract computes from others (sales: cogs = Quantity × Unit price, ...): the check
that a row's value agrees, the value the row's other columns give, and the inputs that, when
wrong, make several of them disagree at once (one bad Quantity: cogs, Tax 5% and Total)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

_NAME = re.compile(r"\{([^{}]+)\}")


def render(template: str, name: Callable[[str], str]) -> str:
    """A template naming columns in braces ("{Quantity} × {Unit price}") with the file's names."""
    return _NAME.sub(lambda m: name(m[1]), template)


@dataclass(frozen=True)
class Derived:
    """A row check on `column`: it must equal `expected`, said as `formula`."""

    check: str  # the Pandera check's name
    column: str
    formula: str  # a template: columns in braces
    expected: pl.Expr  # the value the row's other columns give
    passes: pl.Expr  # the check itself (True = the row passes)
    decimals: int | None = 2  # how the values are shown; None: as text
    cases: str = ""  # said after the rule: the table a text column is looked up in

    def rule(self, name: Callable[[str], str]) -> str:
        """The check as a sentence: "Total must equal Quantity × Unit price + Tax 5%"."""
        verb = "must equal" if self.decimals is not None else "must be"
        cases = f" ({self.cases})" if self.cases else ""
        return f"{name(self.column)} {verb} {render(self.formula, name)}{cases}"

    def inputs(self) -> list[str]:
        return _NAME.findall(self.formula)


@dataclass(frozen=True)
class Suspect:
    """An input of derived columns, and the value the derived columns in the file imply for it
    (cogs / Unit price for Quantity). A row whose derived columns all agree once this input
    takes the implied value (and the implied value is `plausible`) has this input wrong."""

    column: str
    implied: pl.Expr
    plausible: Callable[[pl.Expr], pl.Expr]
    decimals: int = 2


def whole(value: pl.Expr) -> pl.Expr:
    return (value - value.round(0)).abs() < 1e-6


def cents(value: pl.Expr) -> pl.Expr:
    return (value * 100 - (value * 100).round(0)).abs() < 1e-6


def positive(value: pl.Expr) -> pl.Expr:
    return value > 0


@dataclass(frozen=True)
class DerivedColumns:
    derived: tuple[Derived, ...]
    suspects: tuple[Suspect, ...]

    def by_check(self) -> Mapping[str, Derived]:
        return {d.check: d for d in self.derived}

    def by_column(self) -> Mapping[str, Derived]:
        return {d.column: d for d in self.derived}

    def computed_from(self, column: str) -> list[str]:
        """The derived columns whose formula uses `column`."""
        return [d.column for d in self.derived if column in d.inputs()]


def fixed(value: pl.Expr, decimals: int | None) -> pl.Expr:
    """A number as text with exactly `decimals` decimals (548.97, 600.00, 7); one too large for
    that (1e17, inf, NaN: a 64-bit integer cannot hold it scaled) as Polars writes it."""
    if decimals is None:
        return value.cast(pl.String)
    scaled = _scaled(value, decimals).round(0).cast(pl.Int64, strict=False)
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    unit: int = 10**decimals
    whole_part = (scaled.abs() // unit).cast(pl.String)
    if decimals == 0:
        said = pl.concat_str([sign, whole_part])
    else:
        fraction = (scaled.abs() % unit).cast(pl.String).str.zfill(decimals)
        said = pl.concat_str([sign, whole_part, pl.lit("."), fraction])
    return pl.when(scaled.is_null()).then(value.cast(pl.String)).otherwise(said)


def _scaled(value: pl.Expr, decimals: int) -> pl.Expr:
    """The number in units of its last decimal (548.97 with 2 decimals: 54897.0)."""
    unit: int = 10**decimals
    return value.cast(pl.Float64) * unit


def as_in_file(value: pl.Expr, decimals: int | None) -> pl.Expr:
    """A value from the file with `decimals` decimals (600.00) when they say all of it, else
    as Polars writes the number (1e-9, 74.6912): "the file has 0.00" would hide what is there."""
    if decimals is None:
        return value.cast(pl.String)
    scaled = _scaled(value, decimals)
    whole = (scaled - scaled.round(0)).abs() <= 1e-9 * pl.max_horizontal(scaled.abs(), 1.0)
    return pl.when(whole).then(fixed(value, decimals)).otherwise(value.cast(pl.String))

"""Failures of derived columns (sales: cogs, Tax 5%, Total, ...) said with the value the row's
other columns give ("Total should be 548.97 (Quantity × Unit price + Tax 5%); the file has
600.00"), and, when one wrong input makes several of them fail on a row, one failure naming that
input instead ("Quantity is likely wrong: cogs, Tax 5% and Total fit a Quantity of 7; ...")."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from backend.contracts.derived import DerivedColumns, Suspect, as_in_file, fixed, render
from backend.contracts.words import listed

LIKELY_CAUSE = "likely_cause"
IDX = "__idx"  # the batch's row index (validator.IDX)
_EXPECTED, _HAS, _IMPLIED, _FAILED = "__expected", "__has", "__implied", "__failed"

Names = Callable[[str], str]


def with_expected(
    candidates: pl.DataFrame, failures: pl.DataFrame, derived: DerivedColumns, name: Names
) -> pl.DataFrame:
    """`failures` (IDX, column, check, value, detail) with the detail of each derived check's
    failure: the value expected, how it is computed, and the value in the file."""
    by_check = derived.by_check()
    parts = [failures.filter(~pl.col("check").is_in(list(by_check)))]
    for check, spec in by_check.items():
        mine = failures.filter(pl.col("check") == check)
        if mine.is_empty():
            continue
        values = candidates.filter(pl.col(IDX).is_in(mine[IDX].implode())).select(
            IDX,
            fixed(spec.expected, spec.decimals).alias(_EXPECTED),
            as_in_file(pl.col(spec.column), spec.decimals).alias(_HAS),
        )
        detail = pl.format(
            f"{name(spec.column)} should be {{}} ({render(spec.formula, name)}); the file has {{}}",
            pl.col(_EXPECTED),
            pl.col(_HAS),
        )
        parts.append(
            mine.join(values, on=IDX, how="left")
            .with_columns(detail.alias("detail"))
            .select(failures.columns)
        )
    return pl.concat(parts)


def by_likely_cause(
    candidates: pl.DataFrame, failures: pl.DataFrame, derived: DerivedColumns, name: Names
) -> pl.DataFrame:
    """Rows where several derived checks fail and one input explains them all: those failures
    become one, on that input, saying the value the derived columns fit."""
    checks = list(derived.by_check())
    several = (
        failures.filter(pl.col("check").is_in(checks))
        .group_by(IDX)
        .agg(pl.col("column").alias(_FAILED))
        .filter(pl.col(_FAILED).list.len() >= 2)
    )
    if several.is_empty():
        return failures
    left = candidates.join(several, on=IDX, how="inner")
    causes = []
    for suspect in derived.suspects:
        explained = _explained(left, suspect, derived)
        if explained.is_empty():
            continue
        causes.append(_cause(explained, suspect, derived, name))
        left = left.filter(~pl.col(IDX).is_in(explained[IDX].implode()))
    if not causes:
        return failures
    found = pl.concat(causes)
    grouped = pl.col(IDX).is_in(found[IDX].implode()) & pl.col("check").is_in(checks)
    return pl.concat([failures.filter(~grouped), found.select(failures.columns)])


def _explained(rows: pl.DataFrame, suspect: Suspect, derived: DerivedColumns) -> pl.DataFrame:
    """The rows whose derived columns all agree once `suspect` takes its implied value, where
    that value and the row's other inputs are plausible: beside a Unit price of 1E-9, cogs /
    Unit price is a whole Quantity that fits every derived column, but the price is the one
    wrong."""
    implied = suspect.implied.round(suspect.decimals)
    computed = derived.by_column()
    others = [
        other.plausible(pl.col(other.column))
        for other in derived.suspects
        if other.column != suspect.column and other.column not in computed
    ]
    held = rows.filter(pl.all_horizontal(others)) if others else rows
    tried = held.with_columns(implied.alias(_IMPLIED), pl.col(suspect.column).alias(_HAS))
    tried = tried.with_columns(pl.col(_IMPLIED).alias(suspect.column))
    fits = pl.all_horizontal([d.passes for d in derived.derived])
    differs = (pl.col(_IMPLIED) - pl.col(_HAS)).abs() > 10 ** -(suspect.decimals + 2)
    ok = (fits & suspect.plausible(suspect.implied) & differs).fill_null(False)
    return tried.filter(ok)


def _cause(
    explained: pl.DataFrame, suspect: Suspect, derived: DerivedColumns, name: Names
) -> pl.DataFrame:
    column = name(suspect.column)
    failed = pl.col(_FAILED).list.filter(pl.element() != suspect.column)
    others = _listed(failed.list.eval(pl.element().replace_strict(_names(explained, name))))
    implied = fixed(pl.col(_IMPLIED), suspect.decimals)
    has = as_in_file(pl.col(_HAS), suspect.decimals)
    own = derived.by_column().get(suspect.column)
    if own is None:  # an input: the derived columns fit another value
        said = pl.format(
            f"{column} is likely wrong: {{}} fit a {column} of {{}}; the file has {{}}",
            others,
            implied,
            has,
        )
    else:  # derived itself: its own formula and the columns computed from it agree
        formula = render(own.formula, name)
        agree = pl.when(failed.list.len() == 1).then(pl.lit("agrees")).otherwise(pl.lit("agree"))
        said = pl.format(
            f"{column} is likely wrong: it should be {{}} ({formula}), which {{}} {{}} with; "
            "the file has {}",
            implied,
            others,
            agree,
            has,
        )
    return explained.select(
        IDX,
        pl.lit(suspect.column).alias("column"),
        pl.lit(LIKELY_CAUSE).alias("check"),
        has.alias("value"),
        said.alias("detail"),
    )


def _listed(names: pl.Expr) -> pl.Expr:
    """a, b and c."""
    count = names.list.len()
    head = names.list.head(count - 1).list.join(", ")
    return (
        pl.when(count > 1)
        .then(pl.concat_str([head, pl.lit(" and "), names.list.last()]))
        .otherwise(names.list.first())
    )


def _names(explained: pl.DataFrame, name: Names) -> dict[str, str]:
    found = explained[_FAILED].explode().unique().to_list()
    return {str(c): name(str(c)) for c in found}


def cause_sentence(derived: DerivedColumns, column: str, name: Names) -> str:
    """The report's sentence for the grouped failures on `column`."""
    computed = listed([name(c) for c in derived.computed_from(column)], "and")
    own = derived.by_column().get(column)
    verb = "is" if len(derived.computed_from(column)) == 1 else "are"
    if own is None:
        return f"{name(column)} must agree with {computed}, which {verb} computed from it"
    return f"{own.rule(name)}; {computed} {verb} computed from it"

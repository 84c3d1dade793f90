"""A dry run's preview, built from the clean Parquet the pipeline wrote: the schema that would be
used (each column's type, whether it may be empty, sample values, an estimate of its distinct
values, the contract's rule on it in words), the first rows as they would be stored, and the
time column chosen. Nothing is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from backend.contracts import words
from backend.contracts.declared import DECLARED
from backend.contracts.sales import SALES
from backend.contracts.schema import DatasetSchema
from backend.pipeline import causes
from backend.pipeline.options import Overrides
from backend.pipeline.overrides import date_order_of
from backend.pipeline.validator import sentences_for

ROWS = 50
SAMPLES = 5
SAMPLE_FROM_ROWS = 10_000  # samples are the first distinct values among these
VALUE_CHARS = 200  # a value shown is cut to this many characters
# All the rows' values together, and all the samples together, are cut to fit these many
# characters: a wide file's preview shows fewer rows and shorter values (it is stored with the
# task and served on each status poll).
ROWS_BUDGET_CHARS = 200_000
SAMPLES_BUDGET_CHARS = 100_000
SHORTEST_VALUE_CHARS = 20


def build_preview(dataset: Path, schema: DatasetSchema, overrides: Overrides) -> dict[str, Any]:
    """The preview of `dataset` (blocking: Polars reads the file)."""
    names = schema.names
    scan = pl.scan_parquet(dataset).select(names)
    cell = _value_chars(len(names) * ROWS, ROWS_BUDGET_CHARS)
    sample = _value_chars(len(names) * SAMPLES, SAMPLES_BUDGET_CHARS)
    as_text = [pl.col(n).cast(pl.String).str.slice(0, max(cell, sample)) for n in names]
    counts = scan.select(
        pl.len().alias("__rows"),
        *[pl.col(n).null_count().alias(f"nulls:{n}") for n in names],
        *[pl.col(n).approx_n_unique().alias(f"distinct:{n}") for n in names],
    ).collect()
    first = scan.head(SAMPLE_FROM_ROWS).select(as_text).collect()
    rows = _within(first.head(ROWS).select(pl.all().str.slice(0, cell)).rows())
    source_of = {new: old for old, new in overrides.rename}
    rules = _rules(schema, lambda name: source_of.get(name, name))
    columns = [
        {
            "name": spec.name,
            "source_name": source_of.get(spec.name, spec.name),
            "type": spec.type.value,
            "nullable": not spec.required,
            "nulls": int(counts[f"nulls:{spec.name}"].item()),
            "samples": first[spec.name]
            .str.slice(0, sample)
            .drop_nulls()
            .unique(maintain_order=True)
            .head(SAMPLES)
            .to_list(),
            "distinct_estimate": int(counts[f"distinct:{spec.name}"].item()),
            "rule": rules.get(spec.name),
        }
        for spec in schema.columns
    ]
    order = date_order_of(schema)
    return {
        "columns": columns,
        "rows": [list(row) for row in rows],
        "time_column": schema.time.column,
        "date_order": None if order is None else order.value,
        "rows_total": int(counts["__rows"].item()),
        "overrides": overrides.as_dict() if overrides else None,
        "schema_fixed": not schema.inferred,
        "schema_fixed_why": fixed_why(schema),
    }


def _value_chars(values: int, budget: int) -> int:
    """How long a value may be so that `values` of them fit `budget` characters."""
    return max(SHORTEST_VALUE_CHARS, min(VALUE_CHARS, budget // max(1, values)))


def _within(rows: list[tuple[str | None, ...]]) -> list[tuple[str | None, ...]]:
    """The first rows whose values fit ROWS_BUDGET_CHARS together (at least one)."""
    kept: list[tuple[str | None, ...]] = []
    used = 0
    for row in rows:
        used += sum(len(value or "") for value in row)
        if kept and used > ROWS_BUDGET_CHARS:
            break
        kept.append(row)
    return kept


def fixed_why(schema: DatasetSchema) -> str | None:
    """Why the column types of `schema` cannot change (a sentence), or None when they can: a
    schema inferred from this file is the only one whose types a preview may change."""
    if schema.inferred:
        return None
    if schema.contract == SALES:
        return "This datasource follows the sales contract: only the date order can change."
    if schema.contract == DECLARED:
        return (
            "This datasource has a declared contract: its column types are fixed, only the "
            "date order can change."
        )
    return (
        "This datasource already has rows: their column types are fixed, only the date order "
        "can change. Load into a new datasource to choose the types."
    )


def _rules(schema: DatasetSchema, name: causes.Names) -> dict[str, str]:
    """Each column's checks as one sentence: its type, that it may not be empty, the contract's
    other checks on it."""
    required = {c.name for c in schema.columns if c.required}
    said: dict[str, list[str]] = {}
    for (column, check), text in sentences_for(schema, name).items():
        if column is None or (check == words.NOT_NULL and column not in required):
            continue
        if check in (words.ALREADY_LOADED, causes.LIKELY_CAUSE):
            continue
        said.setdefault(column, []).append(text)
    return {column: "; ".join(texts) + "." for column, texts in said.items()}

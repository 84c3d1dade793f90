"""Validating one batch of raw rows: conversion to the schema's types, required values, Pandera
checks, uniqueness across the whole file; splits the batch into normalized rows and rejected rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandera.errors
import polars as pl

from backend.contracts import words
from backend.contracts.sales import DERIVED
from backend.contracts.schema import TIME, ColumnMatch, DatasetSchema
from backend.contracts.types import ColumnType, blank, convert, convert_fast, present
from backend.pipeline import causes
from backend.pipeline.sources.base import PROBLEM, ROW

IDX = "__idx"
REASON = "__reason"  # a rejected row's reasons, before the row is written out
# Prefixes of the columns a batch is given while it is checked (then dropped).
FAST = "__c:"
CONVERTED = "__converted:"
VALUE = "__value:"
REJECTED_ROW = "_row"
REJECTED_REASON = "_reason"
# detail: what a single failure says beyond its check's sentence (a derived column's expected
# value), or null.
FAILURE_COLUMNS = {
    IDX: pl.UInt32,
    "column": pl.String,
    "check": pl.String,
    "value": pl.String,
    "detail": pl.String,
}
VALUE_CHARS = 200


@dataclass
class BatchResult:
    valid: pl.DataFrame  # schema columns, typed, plus __time
    # The file's columns as text, plus _row and _reason (with "_" in front until the names
    # differ from the file's: a file with a column "_row" gets "__row").
    rejected: pl.DataFrame
    failures: pl.DataFrame  # __row, column, check, value, message, detail
    rows: int  # rows read (blank rows are not rows)
    present: dict[str, int]  # per column: cells holding a value
    type_failures: dict[str, int]  # per column: values that did not convert


def _failures(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select([pl.col(k).cast(v) for k, v in FAILURE_COLUMNS.items()])


def _no_failures() -> pl.DataFrame:
    return pl.DataFrame(schema=FAILURE_COLUMNS)


class BatchValidator:
    """Validates batches in file order.

    Uniqueness across batches has two modes. Eager: each batch's keys are checked against every
    earlier key (a hash of all keys so far per batch). Deferred (the default): only repeats within
    a batch are checked, the kept keys are collected, and `repeats_across_batches()` says at the
    end whether a second, eager pass is needed; files without repeats are checked once, cheaply.
    """

    def __init__(
        self,
        schema: DatasetSchema,
        match: ColumnMatch,
        uploaded_at: dt.datetime,
        *,
        eager_unique: bool = False,
        loaded_keys: pl.Series | None = None,
    ) -> None:
        self.schema = schema
        # Keys (encoded) the datasource already holds: the unique key is unique per datasource.
        self.loaded_keys = loaded_keys
        self.source_of = {target: source for source, target in match.mapping.items()}
        self.sentences = sentences_for(schema, self.file_name)
        self.uploaded_at = uploaded_at
        self.eager_unique = eager_unique
        self._seen_keys: pl.Series | None = None
        self._kept: list[pl.Series] = []

    def file_name(self, column: str) -> str:
        """A schema column as the file names it (the sentences use the user's names)."""
        return self.source_of.get(column, column)

    def repeats_across_batches(self) -> bool:
        if self.eager_unique or len(self._kept) < 2:
            return False
        return bool(pl.concat(self._kept, rechunk=False).is_duplicated().any())

    def validate(self, batch: pl.DataFrame) -> BatchResult:
        raw_names = [c for c in batch.columns if c not in (ROW, PROBLEM)]
        batch = batch.with_row_index(IDX)
        converted = self._convert(batch)
        failures, present_counts, type_counts = self._cell_failures(batch, converted)
        failed = failures[IDX].unique()
        candidates = converted.filter(~pl.col(IDX).is_in(failed.implode()))
        failures = pl.concat([failures, self._pandera(candidates)])
        failures = pl.concat([failures, self._duplicates(candidates, failures[IDX].unique())])
        return self._split(batch, raw_names, converted, failures, present_counts, type_counts)

    def _convert(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The batch in the schema's types: a cheap pass first, then the full conversion only for
        columns where the cheap pass missed a value (surrounding spaces, a later format)."""
        columns = [(spec, self.source_of[spec.name]) for spec in self.schema.columns]
        fast = [
            convert_fast(pl.col(src), batch.schema[src], spec.type, spec.formats).alias(spec.name)
            for spec, src in columns
        ]
        converted = batch.select(IDX, *fast)
        misses = (
            batch.with_columns(converted.drop(IDX).rename(lambda n: f"{FAST}{n}"))
            .select(
                [
                    (
                        present(pl.col(src), batch.schema[src])
                        & pl.col(f"{FAST}{spec.name}").is_null()
                    )
                    .any()
                    .alias(spec.name)
                    for spec, src in columns
                ]
            )
            .row(0, named=True)
        )
        redo = [
            convert(pl.col(src), batch.schema[src], spec.type, spec.formats).alias(spec.name)
            for spec, src in columns
            if misses[spec.name]
        ]
        return converted.with_columns(batch.select(redo)) if redo else converted

    def _cell_failures(
        self, batch: pl.DataFrame, converted: pl.DataFrame
    ) -> tuple[pl.DataFrame, dict[str, int], dict[str, int]]:
        """Ragged rows, values that do not convert to the column's type, missing required values."""
        joined = batch.with_columns(converted.drop(IDX).rename(lambda n: f"{CONVERTED}{n}"))
        ok_row = pl.col(PROBLEM).is_null()
        masks: dict[str, tuple[pl.Expr, pl.Expr, str]] = {}
        for spec in self.schema.columns:
            source = self.source_of[spec.name]
            has = present(pl.col(source), batch.schema[source])
            bad_type = has & pl.col(f"{CONVERTED}{spec.name}").is_null() & ok_row
            missing = (~has & ok_row) if spec.required else pl.lit(False)
            masks[spec.name] = (has, bad_type, source)
            masks[f"{spec.name}\0missing"] = (missing, missing, source)
        counts = joined.select(
            [m[0].sum().alias(f"has:{k}") for k, m in masks.items()]
            + [m[1].sum().alias(f"bad:{k}") for k, m in masks.items()]
        ).row(0, named=True)
        parts = [self._structural(batch)]
        for spec in self.schema.columns:
            _, bad_type, source = masks[spec.name]
            missing, _, _ = masks[f"{spec.name}\0missing"]
            if counts[f"bad:{spec.name}"]:
                failed = joined.filter(bad_type)
                # Whitespace-only text is a missing value, not a value of the wrong type.
                is_blank = (
                    blank(pl.col(source)) if batch.schema[source] == pl.String else pl.lit(False)
                )
                empty = failed.filter(is_blank)
                parts.append(
                    _located(
                        failed.filter(~is_blank),
                        spec.name,
                        f"type:{spec.type.value}",
                        _as_written(source, batch.schema[source]),
                    )
                )
                if spec.required and empty.height:
                    parts.append(_located(empty, spec.name, "not_null", pl.lit("")))
                counts[f"bad:{spec.name}"] -= empty.height
                counts[f"has:{spec.name}"] -= empty.height
            if counts[f"bad:{spec.name}\0missing"]:
                parts.append(_located(joined.filter(missing), spec.name, "not_null", pl.lit("")))
        present_counts = {c.name: int(counts[f"has:{c.name}"]) for c in self.schema.columns}
        type_counts = {c.name: int(counts[f"bad:{c.name}"]) for c in self.schema.columns}
        return pl.concat(parts), present_counts, type_counts

    @staticmethod
    def _structural(batch: pl.DataFrame) -> pl.DataFrame:
        ragged = batch.filter(pl.col(PROBLEM).is_not_null())
        return _located(ragged, None, "field_count", pl.col(PROBLEM))

    def _pandera(self, candidates: pl.DataFrame) -> pl.DataFrame:
        if self.schema.checks is None or candidates.is_empty():
            return _no_failures()
        try:
            self.schema.checks().validate(candidates.drop(IDX), lazy=True)
        except pandera.errors.SchemaErrors as errors:
            found = self._from_pandera(candidates, errors.failure_cases)
            found = causes.with_expected(candidates, found, DERIVED, self.file_name)
            return causes.by_likely_cause(candidates, found, DERIVED, self.file_name)
        return _no_failures()

    @staticmethod
    def _from_pandera(candidates: pl.DataFrame, cases: pl.DataFrame) -> pl.DataFrame:
        cases = cases.filter(pl.col("index").is_not_null())
        positions = candidates[IDX].gather(cases["index"].cast(pl.UInt32))
        rows = cases.with_columns(positions.alias(IDX), pl.lit(None, pl.String).alias("detail"))
        mapped = pl.col("check").replace_strict(
            {d.check: d.column for d in DERIVED.derived}, default=None
        )
        rows = rows.with_columns(pl.coalesce(mapped, pl.col("column")).alias("column"))
        # For row-level checks, show the reported column's value rather than the whole row.
        names = [c for c in candidates.columns if c != IDX]
        lookup = candidates.select(
            IDX, *[pl.col(c).cast(pl.String).alias(f"{VALUE}{c}") for c in names]
        )
        rows = rows.join(lookup, on=IDX, how="left")
        value = pl.coalesce(
            [pl.when(pl.col("column") == c).then(pl.col(f"{VALUE}{c}")) for c in names]
            + [pl.col("failure_case")]
        )
        rows = rows.with_columns(value.alias("value"))
        return _failures(rows)

    def _duplicates(self, candidates: pl.DataFrame, failed: pl.Series) -> pl.DataFrame:
        key = self.schema.unique
        if key is None:
            return _no_failures()
        encode = pl.col(key) if self.schema.unique_encoding is None else self.schema.unique_encoding
        rows = candidates.filter(~pl.col(IDX).is_in(failed.implode())).select(
            IDX, key, encode.alias("__key")
        )
        keys = rows["__key"]
        repeated = ~keys.is_first_distinct()
        if self.eager_unique and self._seen_keys is not None:
            repeated = repeated | keys.is_in(self._seen_keys.implode())
        kept = keys.filter(~repeated)
        if self.eager_unique:
            seen = self._seen_keys
            self._seen_keys = kept if seen is None else pl.concat([seen, kept], rechunk=False)
        else:
            self._kept.append(kept)
        found = _located(rows.filter(repeated), key, "unique", pl.col(key))
        if self.loaded_keys is None or not len(self.loaded_keys):
            return found
        loaded = rows.filter(~repeated & keys.is_in(self.loaded_keys.implode()))
        return pl.concat([found, _located(loaded, key, "already_loaded", pl.col(key))])

    def _split(
        self,
        batch: pl.DataFrame,
        raw_names: list[str],
        converted: pl.DataFrame,
        failures: pl.DataFrame,
        present_counts: dict[str, int],
        type_counts: dict[str, int],
    ) -> BatchResult:
        bad = failures[IDX].unique()
        row_name = _free_name(REJECTED_ROW, raw_names)
        reason_name = _free_name(REJECTED_REASON, [*raw_names, row_name])
        valid = converted.filter(~pl.col(IDX).is_in(bad.implode())).drop(IDX)
        valid = valid.with_columns(time_of(self.schema, self.uploaded_at).alias(TIME))
        # One chunk: Polars 2.1 panics evaluating the reason's when/then string expressions over
        # failures concatenated from several parts when a value holds a line break.
        failures = with_messages(failures.rechunk(), self.sentences)
        reasons = (
            failures.with_columns(pl.coalesce("detail", "message").alias("reason"))
            .group_by(IDX)
            .agg(pl.col("reason").str.join("; ").alias(REASON))
        )
        rejected = (
            batch.filter(pl.col(IDX).is_in(bad.implode()))
            .join(reasons, on=IDX, how="left")
            .sort(IDX)
            .select(
                *[_as_written(n, batch.schema[n]) for n in raw_names],
                pl.col(ROW).alias(row_name),
                pl.col(REASON).alias(reason_name),
            )
        )
        rows = batch.select(pl.col(ROW), pl.col(IDX))
        located = (
            failures.join(rows, on=IDX, how="left")
            .select(
                pl.col(ROW),
                "column",
                "check",
                pl.col("value").str.slice(0, VALUE_CHARS),
                "message",
                "detail",
            )
            .sort(ROW)
        )
        return BatchResult(valid, rejected, located, batch.height, present_counts, type_counts)


def _as_written(name: str, dtype: pl.DataType) -> pl.Expr:
    """A rejected row's cell as text; a number as a spreadsheet shows it (999, not 999.0)."""
    text = pl.col(name).cast(pl.String)
    return text.str.strip_suffix(".0") if dtype.is_float() else text


def time_of(schema: DatasetSchema, uploaded_at: dt.datetime) -> pl.Expr:
    """__time of each row, from the schema's converted columns (or the upload time)."""
    spec = schema.time
    if spec.column is None:
        return pl.lit(uploaded_at).cast(pl.Datetime("us", "UTC"))
    column = pl.col(spec.column)
    if spec.time_of_day:
        return column.dt.combine(pl.col(spec.time_of_day), time_unit="us").dt.replace_time_zone(
            "UTC"
        )
    kind = next(c.type for c in schema.columns if c.name == spec.column)
    if kind is ColumnType.DATE:
        return column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return column


def _free_name(name: str, taken: list[str]) -> str:
    while name in taken:
        name = f"_{name}"
    return name


def _located(rows: pl.DataFrame, column: str | None, check: str, value: pl.Expr) -> pl.DataFrame:
    return _failures(
        rows.select(
            IDX,
            pl.lit(column, pl.String).alias("column"),
            pl.lit(check).alias("check"),
            value.alias("value"),
            pl.lit(None, pl.String).alias("detail"),
        )
    )


def sentences_for(schema: DatasetSchema, name: causes.Names) -> words.Sentences:
    """(column, check) -> the sentence a failure of that check reads as."""
    found = words.sentences(schema, name)
    for spec in DERIVED.derived:
        found[(spec.column, spec.check)] = spec.rule(name)
    for suspect in DERIVED.suspects:
        found[(suspect.column, causes.LIKELY_CAUSE)] = causes.cause_sentence(
            DERIVED, suspect.column, name
        )
    return found


def with_messages(failures: pl.DataFrame, sentences: words.Sentences) -> pl.DataFrame:
    """`failures` with the sentence of each one's check ("message")."""
    key = pl.concat_str([pl.col("column").fill_null(""), pl.lit("\0"), pl.col("check")])
    said = {f"{column or ''}\0{check}": text for (column, check), text in sentences.items()}
    for column, check in failures.select("column", "check").unique().iter_rows():
        said.setdefault(f"{column or ''}\0{check}", words.fallback(column, check))
    return failures.with_columns(key.replace_strict(said, return_dtype=pl.String).alias("message"))

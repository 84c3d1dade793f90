"""Rollups: a dataset pre-aggregated to hour grain x its low-cardinality dimensions, with sums,
counts, minima and maxima of every numeric column, and exact per-value counts of the numeric
columns that take few values (the rating distribution). Written once per dataset, in its store."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from backend.analytics.query import TIME
from backend.contracts.sales import SALES

VERSION = 1
SALES_DIMENSIONS = ("Branch", "City", "Product line", "Customer type", "Gender", "Payment")
# An inferred datasource's string column is a dimension when it takes at most this many values.
MAX_DIMENSION_VALUES = 200
# A numeric column taking at most this many values gets a count per value (ratings: 1.0..10.0).
MAX_HISTOGRAM_VALUES = 101
# An inferred datasource's rollup with more rows than this share of its dataset's is not worth
# reading: none is kept. (Sales always has one: its dashboards are answered from it.)
MAX_SHARE = 0.5
ROWS = "__rows"
TIME_MIN, TIME_MAX = "__time_min", "__time_max"
STATS = ("sum", "count", "min", "max")
META_KEY = "rollup"


def rollup_key(dataset_key: str) -> str:
    """Where a dataset's rollup is stored: in the same store as the dataset, under a prefix of
    its own (so a listing of the datasets lists datasets only)."""
    return f"rollups/v{VERSION}/{dataset_key}"


def stat(kind: str, column: str) -> str:
    return f"__{kind}\x1f{column}"


def bucket(column: str, index: int) -> str:
    return f"__value{index}\x1f{column}"


@dataclass(frozen=True)
class Spec:
    """What a rollup holds. `usable` is false when the dataset had nothing worth rolling up."""

    usable: bool
    timed: bool = True
    dimensions: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    # Per column: its distinct non-null values, in the order of the bucket columns.
    histograms: dict[str, list[Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_encode)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        data = json.loads(text)
        return cls(
            usable=data["usable"],
            timed=data["timed"],
            dimensions=tuple(data["dimensions"]),
            measures=tuple(data["measures"]),
            histograms={k: [_decode(v) for v in vs] for k, vs in data["histograms"].items()},
        )


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return {"iso": value.isoformat()}
    raise TypeError(f"cannot encode {value!r}")


def _decode(value: Any) -> Any:
    return dt.datetime.fromisoformat(value["iso"]) if isinstance(value, dict) else value


def is_measure(dtype: pl.DataType) -> bool:
    """A column summed, counted and bounded by a rollup (the embedded one and Druid's)."""
    return dtype.is_integer() or dtype.is_float()


def _is_sales(schema: pl.Schema, datasource: str) -> bool:
    """A dataset of the sales contract (any datasource uploadSalesData wrote has its columns)."""
    return datasource == SALES or all(c in schema for c in SALES_DIMENSIONS)


def dimensions_of(frame: pl.LazyFrame, schema: pl.Schema, datasource: str) -> list[str]:
    """The columns a rollup keeps (the embedded one and Druid's): the sales contract's
    dimensions, else the text columns taking at most MAX_DIMENSION_VALUES values."""
    if _is_sales(schema, datasource):
        return [c for c in SALES_DIMENSIONS if c in schema]
    strings = [c for c, t in schema.items() if t == pl.String and not c.startswith("__")]
    if not strings:
        return []
    counts = frame.select(pl.col(c).n_unique() for c in strings).collect().row(0)
    return [c for c, n in zip(strings, counts, strict=True) if n <= MAX_DIMENSION_VALUES]


def histograms(frame: pl.LazyFrame, measures: list[str]) -> dict[str, list[Any]]:
    if not measures:
        return {}
    limit = MAX_HISTOGRAM_VALUES + 1
    found = frame.select(
        pl.col(c).drop_nulls().unique().head(limit).implode() for c in measures
    ).collect()
    histograms: dict[str, list[Any]] = {}
    for column in measures:
        values = found[column][0].to_list()
        if len(values) <= MAX_HISTOGRAM_VALUES and all(v == v for v in values):  # no NaN
            histograms[column] = sorted(values)
    return histograms


def build(dataset: Path, target: Path, datasource: str) -> Spec:
    """Write `dataset`'s rollup to `target` (a Parquet file whose metadata holds its Spec)."""
    frame = pl.scan_parquet(dataset)
    schema = frame.collect_schema()
    timed = TIME in schema
    dimensions = dimensions_of(frame, schema, datasource)
    measures = [c for c, t in schema.items() if is_measure(t) and not c.startswith("__")]
    counted = histograms(frame, measures)
    spec = Spec(True, timed, tuple(dimensions), tuple(measures), counted)
    keys = [pl.col(TIME).dt.truncate("1h")] if timed else []
    keys += [pl.col(d) for d in dimensions]
    aggregates = [pl.len().cast(pl.Int64).alias(ROWS)]
    if timed:
        aggregates += [pl.col(TIME).min().alias(TIME_MIN), pl.col(TIME).max().alias(TIME_MAX)]
    for column in measures:
        values = pl.col(column)
        aggregates += [
            values.sum().alias(stat("sum", column)),
            values.count().cast(pl.Int64).alias(stat("count", column)),
            values.min().alias(stat("min", column)),
            values.max().alias(stat("max", column)),
        ]
    for column, known in counted.items():
        aggregates += [
            (pl.col(column) == value).sum().cast(pl.UInt32).alias(bucket(column, index))
            for index, value in enumerate(known)
        ]
    rolled = (frame.group_by(keys).agg(aggregates) if keys else frame.select(aggregates)).collect()
    total = frame.select(pl.len()).collect().item()
    if not _is_sales(schema, datasource) and keys and total and rolled.height > MAX_SHARE * total:
        spec, rolled = Spec(False), pl.DataFrame()
    rolled.write_parquet(target, metadata={META_KEY: spec.to_json()})
    return spec


def read_spec(path: Path) -> Spec:
    return Spec.from_json(pl.read_parquet_metadata(path)[META_KEY])


@dataclass(frozen=True)
class Rollup:
    spec: Spec
    frame: pl.DataFrame


def load(path: Path) -> Rollup:
    spec = read_spec(path)
    return Rollup(spec, pl.read_parquet(path) if spec.usable else pl.DataFrame())

"""A dataset's schema: its columns and types, how __time is made, and the checks on its values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl

from backend.contracts.evolution import Change
from backend.contracts.types import ColumnType

TIME = "__time"
# The bucket column of a grouped query's answer (a reserved name: no upload may use it).
PERIOD = "__period"
INFERRED = "inferred"  # the contract of a datasource whose first upload fixed its columns


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    formats: tuple[str, ...] = ()
    required: bool = False  # nulls are rejected
    # Added to the schema after rows were loaded (its version): a file may leave it out.
    added_in: int | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "formats": list(self.formats),
            "required": self.required,
        }
        if self.added_in is not None:
            found["added_in"] = self.added_in
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        return cls(
            data["name"],
            ColumnType(data["type"]),
            tuple(data.get("formats", ())),
            data.get("required", False),
            data.get("added_in"),
        )


@dataclass(frozen=True)
class TimeSpec:
    """How __time is computed: from one column, or a date column plus a time column."""

    column: str | None
    time_of_day: str | None = None

    def describe(self) -> str:
        if self.column is None:
            return "no timestamp column: __time is the upload time"
        if self.time_of_day:
            return f"{self.column} + {self.time_of_day}"
        return self.column


@dataclass
class DatasetSchema:
    columns: list[ColumnSpec]
    time: TimeSpec
    unique: str | None = None  # a column whose values must not repeat within a file
    # An exact, compact encoding of the unique column (integers hash far faster than strings).
    unique_encoding: pl.Expr | None = None
    checks: Callable[[], pa.DataFrameSchema] | None = field(default=None, repr=False)
    # Extra columns are dropped (and reported) instead of failing the upload.
    ignore_extra: bool = False
    inferred: bool = False
    # The datasource's contract: "sales" (backend.contracts.sales, every check) or
    # "inferred" (columns and types fixed by the first upload).
    contract: str = "inferred"
    # Made to the datasource's stored schema by this upload (evolve=...); recorded when it lands.
    changes: tuple[Change, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.as_dict() for c in self.columns],
            "time_column": self.time.column,
            "time_of_day_column": self.time.time_of_day,
            "contract": self.contract,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSchema:
        return cls(
            columns=[ColumnSpec.from_dict(c) for c in data["columns"]],
            time=TimeSpec(data.get("time_column"), data.get("time_of_day_column")),
            contract=data.get("contract", "inferred"),
        )


@dataclass
class ColumnMatch:
    """How the file's header lines up with the schema (names matched ignoring case and spaces)."""

    mapping: dict[str, str]  # file column -> schema column
    missing: list[str]
    extra: list[str]
    # Columns added by a later schema version that the file leaves out: read as empty.
    absent: list[str] = field(default_factory=list)


def match_columns(header: list[str], schema: DatasetSchema) -> ColumnMatch:
    wanted = {c.name.strip().casefold(): c.name for c in schema.columns}
    mapping: dict[str, str] = {}
    extra: list[str] = []
    for name in header:
        key = name.strip().casefold()
        if key in wanted:
            mapping[name] = wanted[key]
        else:
            extra.append(name)
    found = set(mapping.values())
    left_out = [c for c in schema.columns if c.name not in found]
    missing = [c.name for c in left_out if c.added_in is None or c.required]
    absent = [c.name for c in left_out if c.added_in is not None and not c.required]
    return ColumnMatch(mapping, missing, extra, absent)

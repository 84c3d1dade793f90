"""Declared contracts: a datasource whose columns, types, required columns, allowed values, ranges,
unique key and time column are stated before any upload (createDatasource), checked with Pandera
like the sales contract."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandera.polars as pa

from backend.contracts.schema import ColumnSpec, DatasetSchema, TimeSpec
from backend.contracts.types import POLARS_TYPES, ColumnType
from backend.errors import InvalidInput

DECLARED = "declared"
MAX_COLUMNS = 200
MAX_ALLOWED_VALUES = 1000
MAX_NAME = 128
NUMERIC = (ColumnType.INTEGER, ColumnType.FLOAT)
TIMED = (ColumnType.DATE, ColumnType.DATETIME)


@dataclass(frozen=True)
class DeclaredColumn:
    name: str
    type: ColumnType
    required: bool = True  # an empty cell is refused
    allowed: tuple[str, ...] = ()  # strings: the only values accepted
    minimum: float | None = None  # numbers: inclusive bounds
    maximum: float | None = None
    added_in: int | None = None  # the schema version that added it (a file may leave it out)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.spec().as_dict(),
            "allowed": list(self.allowed),
            "minimum": self.minimum,
            "maximum": self.maximum,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeclaredColumn:
        return cls(
            str(data["name"]),
            ColumnType(data["type"]),
            bool(data.get("required", True)),
            tuple(str(v) for v in data.get("allowed") or ()),
            data.get("minimum"),
            data.get("maximum"),
            data.get("added_in"),
        )

    def spec(self) -> ColumnSpec:
        return ColumnSpec(self.name, self.type, required=self.required, added_in=self.added_in)

    def checks(self) -> list[pa.Check]:
        found = []
        if self.allowed:
            found.append(pa.Check.isin(list(self.allowed)))
        if self.minimum is not None:
            found.append(pa.Check.ge(self.minimum))
        if self.maximum is not None:
            found.append(pa.Check.le(self.maximum))
        return found


@dataclass(frozen=True)
class Declaration:
    columns: tuple[DeclaredColumn, ...]
    time_column: str | None = None
    unique: str | None = None

    def definition(self) -> dict[str, Any]:
        return {
            "contract": DECLARED,
            "columns": [c.as_dict() for c in self.columns],
            "time_column": self.time_column,
            "time_of_day_column": None,
            "unique": self.unique,
        }

    @classmethod
    def from_definition(cls, data: dict[str, Any]) -> Declaration:
        return cls(
            tuple(DeclaredColumn.from_dict(c) for c in data["columns"]),
            data.get("time_column"),
            data.get("unique"),
        )

    def schema(self) -> DatasetSchema:
        return DatasetSchema(
            columns=[c.spec() for c in self.columns],
            time=TimeSpec(self.time_column),
            unique=self.unique,
            checks=_pandera(self),
            contract=DECLARED,
        )


def declare(
    columns: list[DeclaredColumn], time_column: str | None, unique: str | None
) -> Declaration:
    """A declaration checked for sense: every problem refused with what to change."""
    if not columns or len(columns) > MAX_COLUMNS:
        raise InvalidInput(
            f"a declared contract has 1 to {MAX_COLUMNS} columns (got {len(columns)})",
            "List the columns the datasource's files have.",
        )
    names = [c.name for c in columns]
    for column in columns:
        check_column(column)
    folded = [n.strip().casefold() for n in names]
    if len(set(folded)) != len(folded):
        raise InvalidInput(
            "column names repeat (names are matched ignoring case and surrounding spaces)",
            "Give each column a name of its own.",
        )
    by_name = {c.name: c for c in columns}
    if time_column is not None and (
        time_column not in by_name or by_name[time_column].type not in TIMED
    ):
        raise InvalidInput(
            f"time_column {time_column[:MAX_NAME]!r} is not a declared date or datetime column",
            "Name a column of type date or datetime, or leave time_column out (then __time "
            "is the upload time).",
        )
    if unique is not None and unique not in by_name:
        raise InvalidInput(
            f"unique key {unique[:MAX_NAME]!r} is not a declared column",
            "Name one of the declared columns.",
        )
    return Declaration(tuple(columns), time_column, unique)


def check_column(column: DeclaredColumn) -> None:
    where = f"column {column.name[:MAX_NAME]!r}"
    if not column.name.strip() or len(column.name) > MAX_NAME or column.name.startswith("__"):
        raise InvalidInput(
            f"{where}: a name has 1 to {MAX_NAME} characters and does not start with '__'",
            "Names starting with '__' are the service's own (such as __time).",
        )
    if column.allowed and column.type is not ColumnType.STRING:
        raise InvalidInput(f"{where}: allowed values apply to string columns", "Remove them.")
    if len(column.allowed) > MAX_ALLOWED_VALUES or any(len(v) > 200 for v in column.allowed):
        raise InvalidInput(
            f"{where}: at most {MAX_ALLOWED_VALUES} allowed values of up to 200 characters",
            "Shorten the list.",
        )
    bounds = [b for b in (column.minimum, column.maximum) if b is not None]
    if bounds and column.type not in NUMERIC:
        raise InvalidInput(f"{where}: minimum and maximum apply to numbers", "Remove them.")
    if any(not math.isfinite(b) for b in bounds):
        raise InvalidInput(f"{where}: bounds must be finite numbers", "Fix the bounds.")
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise InvalidInput(f"{where}: minimum is above maximum", "Swap them.")


def _pandera(declaration: Declaration) -> Any:
    @cache
    def build() -> pa.DataFrameSchema:
        return pa.DataFrameSchema(
            {
                c.name: pa.Column(
                    type(POLARS_TYPES[c.type]), checks=c.checks(), nullable=not c.required
                )
                for c in declaration.columns
            },
            strict=False,
        )

    return build

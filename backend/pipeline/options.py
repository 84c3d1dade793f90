"""What an upload asks of the pipeline: how invalid rows are treated, how the rows are loaded,
which sheet and time column to read, which contract applies and which changes it may take."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from backend.contracts.evolution import Evolve

DEFAULT_MAX_INVALID_RATIO = 0.1


class OnInvalid(enum.StrEnum):
    REJECT = "reject"  # any invalid row fails the upload; nothing is loaded
    SKIP = "skip"  # valid rows are loaded, invalid ones kept aside (up to max_invalid_ratio)


class LoadMode(enum.StrEnum):
    APPEND = "append"  # the rows are added to the datasource
    REPLACE = "replace"  # the rows replace the datasource's rows in the upload's time interval


class DateOrder(enum.StrEnum):
    """How a date such as 1/5/2019 is read: January 5 (month first) or May 1 (day first)."""

    MONTH_FIRST = "month_first"
    DAY_FIRST = "day_first"


@dataclass(frozen=True)
class Overrides:
    """What a person changed after a preview: applied to the file's columns before the schema is
    inferred or checked (rename, drop), then to the schema (types, date order). Names are the
    file's header names; `types` values are ColumnType values ("integer", "date", ...)."""

    types: tuple[tuple[str, str], ...] = ()
    date_order: DateOrder | None = None
    rename: tuple[tuple[str, str], ...] = ()
    drop: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.types or self.date_order or self.rename or self.drop)

    def as_dict(self) -> dict[str, Any]:
        return {
            "types": dict(self.types),
            "date_order": None if self.date_order is None else self.date_order.value,
            "rename": dict(self.rename),
            "drop": list(self.drop),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Overrides:
        data = data or {}
        order = data.get("date_order")
        return cls(
            types=tuple((str(k), str(v)) for k, v in (data.get("types") or {}).items()),
            date_order=None if order is None else DateOrder(order),
            rename=tuple((str(k), str(v)) for k, v in (data.get("rename") or {}).items()),
            drop=tuple(str(c) for c in data.get("drop") or ()),
        )


@dataclass(frozen=True)
class UploadOptions:
    on_invalid: OnInvalid = OnInvalid.REJECT
    max_invalid_ratio: float = DEFAULT_MAX_INVALID_RATIO
    sheet: str | None = None
    time_column: str | None = None
    mode: LoadMode = LoadMode.APPEND
    # "sales": the rows must pass the sales contract whatever the datasource is named (GraphQL's
    # uploadSalesData); None: the datasource's own contract.
    contract: str | None = None
    # Changes an inferred datasource's schema may take from this file (validation.evolution).
    evolve: tuple[Evolve, ...] = ()
    # A preview's changes, confirmed (checked by the door; applied by the pipeline).
    overrides: Overrides = Overrides()

    def as_dict(self) -> dict[str, Any]:
        return {
            "on_invalid": self.on_invalid.value,
            "max_invalid_ratio": self.max_invalid_ratio,
            "sheet": self.sheet,
            "time_column": self.time_column,
            "mode": self.mode.value,
            "contract": self.contract,
            "evolve": [e.value for e in self.evolve],
            "overrides": self.overrides.as_dict() if self.overrides else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UploadOptions:
        return cls(
            on_invalid=OnInvalid(data.get("on_invalid", OnInvalid.REJECT.value)),
            max_invalid_ratio=float(data.get("max_invalid_ratio", DEFAULT_MAX_INVALID_RATIO)),
            sheet=data.get("sheet"),
            time_column=data.get("time_column"),
            mode=LoadMode(data.get("mode", LoadMode.APPEND.value)),
            contract=data.get("contract"),
            evolve=tuple(Evolve(e) for e in data.get("evolve") or ()),
            overrides=Overrides.from_dict(data.get("overrides")),
        )

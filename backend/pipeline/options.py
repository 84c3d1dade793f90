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

    def as_dict(self) -> dict[str, Any]:
        return {
            "on_invalid": self.on_invalid.value,
            "max_invalid_ratio": self.max_invalid_ratio,
            "sheet": self.sheet,
            "time_column": self.time_column,
            "mode": self.mode.value,
            "contract": self.contract,
            "evolve": [e.value for e in self.evolve],
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
        )

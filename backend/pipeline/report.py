"""The validation report stored on a task: what was read, schema problems, and each failed check
with the row numbers and values a user can look up in the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from backend.contracts.schema import DatasetSchema
from backend.pipeline.sources.base import ROW, SourceInfo

SAMPLES = 20


@dataclass
class CheckSummary:
    """A check's failures: `message` is the check as a sentence ("Quantity must be at least 1");
    a sample's own `message`, when it has one, says more about that row (the value expected)."""

    column: str | None
    check: str
    message: str = ""
    failed: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "check": self.check,
            "message": self.message,
            "failed": self.failed,
            "samples": self.samples,
            "truncated": self.failed > len(self.samples),
        }


def _sample(found: dict[str, Any]) -> dict[str, Any]:
    sample = {"row": found["row"], "value": found["value"]}
    if found["message"] is not None:
        sample["message"] = found["message"]
    return sample


@dataclass
class SchemaProblems:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wrong_type: list[dict[str, Any]] = field(default_factory=list)
    extra_ignored: bool = False
    # Schema changes the upload made (applied) or that would let it load (with the option to
    # re-send it with): {"column", "kind": add_column|widen, "applied", "resolution"}.
    changes: list[dict[str, Any]] = field(default_factory=list)

    def fatal(self) -> bool:
        return bool(self.missing or (self.extra and not self.extra_ignored) or self.wrong_type)

    def as_dict(self) -> dict[str, Any]:
        return {
            "missing": self.missing,
            "extra": self.extra,
            "extra_ignored": self.extra_ignored,
            "wrong_type": self.wrong_type,
            "changes": self.changes,
        }


@dataclass
class Report:
    source: SourceInfo
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    schema: SchemaProblems = field(default_factory=SchemaProblems)
    checks: dict[tuple[str | None, str], CheckSummary] = field(default_factory=dict)
    columns: list[dict[str, Any]] = field(default_factory=list)
    time: str | None = None
    rejected_key: str | None = None
    outcome: str | None = None
    present: dict[str, int] = field(default_factory=dict)
    type_failures: dict[str, int] = field(default_factory=dict)

    def describe_schema(self, schema: DatasetSchema) -> None:
        """The schema the rows were checked against: its columns and how __time is made."""
        self.columns = [c.as_dict() for c in schema.columns]
        self.time = schema.time.describe()
        self.schema.extra_ignored = schema.ignore_extra
        self.schema.changes = [  # made by this upload (evolve=...)
            {"column": c.column, "kind": c.kind, "applied": True, "resolution": None}
            for c in schema.changes
        ]

    def add_failures(self, failures: pl.DataFrame) -> None:
        if failures.is_empty():
            return
        grouped = failures.group_by("column", "check", maintain_order=True).agg(
            pl.col("message").first(),
            pl.len().alias("failed"),
            pl.struct(pl.col(ROW).alias("row"), "value", pl.col("detail").alias("message"))
            .head(SAMPLES)
            .alias("samples"),
        )
        for column, check, message, failed, samples in grouped.iter_rows():
            summary = self.checks.setdefault((column, check), CheckSummary(column, check, message))
            summary.failed += failed
            room = SAMPLES - len(summary.samples)
            summary.samples += [_sample(s) for s in samples[:room]]

    def add_counts(self, present: dict[str, int], type_failures: dict[str, int]) -> None:
        for name, count in present.items():
            self.present[name] = self.present.get(name, 0) + count
        for name, count in type_failures.items():
            self.type_failures[name] = self.type_failures.get(name, 0) + count

    def find_wrong_types(self, types: dict[str, str]) -> None:
        """A column none of whose values has the schema's type has changed type."""
        for name, failed in self.type_failures.items():
            if failed and failed == self.present.get(name):
                self.schema.wrong_type.append({"column": name, "expected": types[name]})

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.source.as_dict(),
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected,
            "schema_problems": self.schema.as_dict(),
            "checks": [c.as_dict() for c in self.checks.values()],
            "columns": self.columns,
            "time_column": self.time,
            "rejected_rows_key": self.rejected_key,
            "outcome": self.outcome,
        }

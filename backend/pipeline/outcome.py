"""What a run of the pipeline ends with: the outcome (report, dataset, rejected rows), the
progress the worker's heartbeat reads, and the failure an upload gets when its file cannot be
loaded, with the schema changes the report offers as the way out."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.contracts.schema import DatasetSchema
from backend.contracts.types import ColumnType
from backend.pipeline import remedies
from backend.pipeline.options import OnInvalid, UploadOptions
from backend.pipeline.remedies import Remedy
from backend.pipeline.report import Report


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    detail: str  # what to change, in words any door may show
    # Actions that would load the file, each door words them (backend.pipeline.remedies).
    remedies: list[Remedy] = field(default_factory=list)


NO_ROWS = Failure("no_rows", "the file has no data rows", "Add rows below the header.")


@dataclass
class Outcome:
    report: Report | None
    dataset: Path | None = None
    rejected: Path | None = None
    schema: DatasetSchema | None = None
    failure: Failure | None = None
    time_range: tuple[dt.datetime, dt.datetime] | None = None  # of __time in the dataset


@dataclass
class Progress:
    """Written by the processing thread, read by the worker's heartbeat."""

    rows: int = 0


_RESOLUTIONS = {
    "add_column": "re-send with evolve=add_columns (the column is added, empty for rows already "
    "loaded)",
    "widen": "re-send with evolve=widen (the column becomes float; integers already loaded are "
    "kept)",
}


def offer(column: str, kind: str) -> dict[str, Any]:
    """A schema change the report offers (not applied): `kind` is "add_column" or "widen"."""
    return {"column": column, "kind": kind, "applied": False, "resolution": _RESOLUTIONS[kind]}


def with_decimals(report: Report, schema: DatasetSchema) -> list[str]:
    """Integer columns whose refused values include numbers with decimals."""
    found = []
    for spec in schema.columns:
        summary = report.checks.get((spec.name, f"type:{ColumnType.INTEGER.value}"))
        if spec.type is ColumnType.INTEGER and summary is not None:
            if any(_is_number(sample.get("value")) for sample in summary.samples):
                found.append(spec.name)
    return found


def _is_number(value: object) -> bool:
    try:
        return isinstance(value, str) and math.isfinite(float(value.strip()))
    except ValueError:
        return False


_OFFERED = {
    "add_column": "The file has new column(s) {names}.",
    "widen": "The integer column(s) {names} have values with decimals.",
}
_EVOLVE = {"add_column": "add_columns", "widen": "widen"}


def _offered(report: Report) -> tuple[str, list[Remedy]]:
    """What the report offers: one sentence per kind of change ("" when nothing), and the
    remedy that applies them."""
    offers = [c for c in report.schema.changes if not c["applied"]]
    said = {
        kind: ", ".join(repr(c["column"]) for c in offers if c["kind"] == kind)
        for kind in _RESOLUTIONS
    }
    kinds = [kind for kind, names in said.items() if names]
    sentence = " ".join(_OFFERED[kind].format(names=said[kind]) for kind in kinds)
    return sentence, [remedies.evolve([_EVOLVE[k] for k in kinds])] if kinds else []


def schema_failure(report: Report) -> Failure:
    problems = report.schema
    said = []
    if problems.missing:
        said.append(f"missing column(s): {', '.join(problems.missing)}")
    if problems.extra and not problems.extra_ignored:
        said.append(f"unexpected column(s): {', '.join(problems.extra)}")
    if problems.wrong_type:
        said.append(
            "column(s) with a different type: "
            + ", ".join(f"{p['column']} (expected {p['expected']})" for p in problems.wrong_type)
        )
    offered, remedy = _offered(report)
    return Failure(
        "schema_mismatch",
        "the file's columns do not match the datasource: " + "; ".join(said),
        offered
        or "Rename or add the columns listed (names are matched ignoring case and surrounding "
        "spaces), or upload to a new datasource.",
        remedy,
    )


def policy_failure(report: Report, options: UploadOptions) -> Failure | None:
    """Why nothing is loaded once every batch is read (None: the valid rows are loaded)."""
    failure = _failure_of(report, options)
    offered, remedy = _offered(report)
    if failure is None or not offered or failure.detail.startswith(offered):
        return failure
    return Failure(
        failure.code, failure.message, f"{offered} {failure.detail}", remedy + failure.remedies
    )


def _failure_of(report: Report, options: UploadOptions) -> Failure | None:
    if report.schema.fatal():
        return schema_failure(report)
    if report.rows_read == 0:
        return NO_ROWS
    if report.rows_valid == 0:
        return Failure(
            "no_valid_rows",
            "the only row is not valid"
            if report.rows_read == 1
            else f"none of the {report.rows_read:,} rows is valid",
            "See the checks in the report and the rejected rows file.",
        )
    if not report.rows_rejected:
        return None
    where = f"{report.rows_rejected:,} of {report.rows_read:,} rows are invalid"
    if options.on_invalid is OnInvalid.REJECT:
        return Failure(
            "invalid_rows",
            f"{where}; nothing was loaded",
            "Fix the rows listed in the report (or download the rejected rows).",
            [remedies.skip_invalid()],
        )
    ratio = report.rows_rejected / report.rows_read
    if ratio > options.max_invalid_ratio:
        return Failure(
            "too_many_invalid_rows",
            f"{where} ({ratio:.1%}), more than max_invalid_ratio {options.max_invalid_ratio:.1%}; "
            "nothing was loaded",
            "Fix the file, or allow a larger share of invalid rows if that many are expected.",
        )
    return None

"""The batch path: every batch of the file validated, valid rows written as Arrow parts and
merged into one Parquet at the end, invalid rows into the rejected rows CSV, every problem into
the report. Taken when the one pass (backend.pipeline.fast) does not load the file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl

from backend.contracts.schema import INFERRED, TIME, DatasetSchema
from backend.monitoring import tracing
from backend.pipeline import overrides, writer
from backend.pipeline.options import OnInvalid, UploadOptions
from backend.pipeline.outcome import Outcome, Progress, offer, policy_failure, with_decimals
from backend.pipeline.rejected import write_rejected
from backend.pipeline.report import Report
from backend.pipeline.sources.base import ReadError
from backend.pipeline.validator import BatchValidator


def run_batches(
    validator: BatchValidator,
    batches: Iterator[pl.DataFrame],
    report: Report,
    schema: DatasetSchema,
    workdir: Path,
    options: UploadOptions,
    progress: Progress | None,
) -> Outcome:
    """Validate `batches` into `report`, then load the valid rows unless the policy refuses."""
    parts: list[Path] = []
    rejected_path = workdir / "rejected.csv"
    rejected_file: IO[bytes] | None = None
    try:  # PolarsError from a later batch reaches normalize() and becomes a ReadError
        for index, batch in enumerate(batches):
            with tracing.span(
                "validate batch", **{"ingest.batch": index, "ingest.rows": batch.height}
            ):
                result = validator.validate(batch)
            report.rows_read += result.rows
            report.rows_valid += result.valid.height
            report.rows_rejected += result.rejected.height
            report.add_failures(result.failures)
            report.add_counts(result.present, result.type_failures)
            if result.rejected.height:
                first_rows = rejected_file is None
                if rejected_file is None:
                    rejected_file = rejected_path.open("wb")
                # Cells a spreadsheet would run as formulas are quoted (see validation.rejected).
                write_rejected(result.rejected, rejected_file, header=first_rows)
            # Under "reject", one invalid row means nothing is loaded: stop writing, keep checking.
            if result.valid.height and not (
                options.on_invalid is OnInvalid.REJECT and report.rows_rejected
            ):
                # Arrow IPC parts are cheap to write; the Parquet is written once, at the end.
                part = workdir / f"part-{len(parts):05d}.arrow"
                result.valid.write_ipc(part, compression="uncompressed")
                parts.append(part)
            if progress is not None:
                progress.rows = report.rows_read
    except pl.exceptions.PolarsError as exc:
        raise ReadError(
            f"the file cannot be read: {first_line(exc)}", "Check the file's format."
        ) from exc
    finally:
        if rejected_file is not None:
            rejected_file.close()
    return _finish(report, schema, parts, workdir, rejected_path, options)


def _finish(
    report: Report,
    schema: DatasetSchema,
    parts: list[Path],
    workdir: Path,
    rejected_path: Path,
    options: UploadOptions,
) -> Outcome:
    """The outcome once every batch is read: the dataset merged from `parts`, or a failure."""
    report.find_wrong_types({c.name: c.type.value for c in schema.columns})
    if schema.contract == INFERRED:
        report.schema.changes += [offer(name, "widen") for name in with_decimals(report, schema)]
    outcome = Outcome(
        report, rejected=rejected_path if report.rows_rejected else None, schema=schema
    )
    refused = overrides.refused_type(report, schema, options.overrides)
    outcome.failure = refused or policy_failure(report, options)
    if outcome.failure is None:
        outcome.dataset = _merge(parts, workdir / "dataset.parquet")
        outcome.time_range = _time_range(outcome.dataset)
    report.outcome = "failed" if outcome.failure else "loaded"
    return outcome


def _merge(parts: list[Path], target: Path) -> Path:
    # zstd level 1: within 10% of the default size, a quarter faster to write.
    with tracing.span("write Parquet", **{"ingest.parts": len(parts)}):
        pl.scan_ipc(parts).sink_parquet(target, **writer.SINK_OPTIONS)
    for part in parts:
        part.unlink()
    return target


def _time_range(dataset: Path) -> tuple[dt.datetime, dt.datetime]:
    bounds = pl.scan_parquet(dataset).select(
        pl.col(TIME).min().alias("low"), pl.col(TIME).max().alias("high")
    )
    low, high = bounds.collect().row(0)
    return low, high


def with_absent(batches: Iterator[pl.DataFrame], absent: list[str]) -> Iterator[pl.DataFrame]:
    """Columns a later schema version added and the file leaves out, as empty text columns."""
    for batch in batches:
        yield batch.with_columns([pl.lit(None, pl.String).alias(name) for name in absent])


def chain(first: pl.DataFrame, rest: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    yield first
    yield from rest


def fresh_report(previous: Report) -> Report:
    """A report for reading the file again: what the header told, none of the rows' counts."""
    report = Report(
        previous.source, schema=previous.schema, columns=previous.columns, time=previous.time
    )
    report.schema.wrong_type = []
    return report


def clear(workdir: Path) -> None:
    """Remove what a run left in `workdir` before the next one writes there."""
    for leftover in (
        *workdir.glob("part-*.arrow"),
        workdir / "dataset.parquet",
        workdir / "rejected.csv",
    ):
        leftover.unlink(missing_ok=True)


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

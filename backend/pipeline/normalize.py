"""Read, validate and normalize an uploaded file into typed Parquet with __time, in batches so
memory stays flat; rejected rows go to a CSV and every problem into the report.

The steps live beside this module: the upload's options (`options`), the schema the rows must
have (`schema_choice`), the one pass for a clean CSV or Parquet file (`fast`,
`fast_csv`, `fast_parquet`), the batch path (`batches`), the
keys already loaded (`keys`), and the outcome with its failures (`outcome`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from backend.contracts.schema import INFERRED, ColumnMatch, DatasetSchema, match_columns
from backend.monitoring import tracing
from backend.pipeline import reserved
from backend.pipeline.batches import (
    chain,
    clear,
    first_line,
    fresh_report,
    run_batches,
    with_absent,
)
from backend.pipeline.fast_csv import load_clean_csv
from backend.pipeline.fast_excel import load_clean_sheet
from backend.pipeline.fast_parquet import load_clean_parquet
from backend.pipeline.keys import keys_outside, loaded_keys
from backend.pipeline.options import DEFAULT_MAX_INVALID_RATIO, LoadMode, OnInvalid, UploadOptions
from backend.pipeline.outcome import NO_ROWS, Failure, Outcome, Progress, offer, schema_failure
from backend.pipeline.overrides import with_header_overrides
from backend.pipeline.report import Report
from backend.pipeline.schema_choice import contract_detail, evolve_detail, schema_for
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources import excel_child
from backend.pipeline.sources.base import DEFAULT_LIMITS, InputLimits, ReadError, Source
from backend.pipeline.sources.csv import open_csv
from backend.pipeline.sources.excel import ExcelSource, open_excel
from backend.pipeline.sources.parquet import open_parquet
from backend.pipeline.validator import BatchValidator


def open_source(
    path: Path,
    file_format: FileFormat,
    workdir: Path,
    options: UploadOptions,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Source:
    if file_format is FileFormat.CSV:
        return open_csv(path, workdir, limits)
    if file_format is FileFormat.PARQUET:
        return open_parquet(path, limits)
    return open_excel(path, file_format.value, options.sheet, workdir, limits)


@dataclass(frozen=True)
class _Job:
    """One read of the file: what normalize() was given, and for a replace upload read again,
    the keys loaded outside the replaced interval (`replace_keys`)."""

    path: Path
    file_format: FileFormat
    workdir: Path
    datasource: str
    known_schema: DatasetSchema | None
    options: UploadOptions
    uploaded_at: dt.datetime
    progress: Progress | None
    loaded: Sequence[Path]
    limits: InputLimits
    replace_keys: pl.Series | None = None

    def schema(self, header: list[str], first: Callable[[], pl.DataFrame]) -> DatasetSchema:
        return schema_for(self.datasource, self.known_schema, header, first, self.options)

    def keys(self, schema: DatasetSchema) -> pl.Series | None:
        """The keys a valid row may not hold."""
        if self.options.mode is LoadMode.APPEND:
            return loaded_keys(schema, self.loaded)
        return self.replace_keys


def normalize(
    path: Path,
    file_format: FileFormat,
    workdir: Path,
    *,
    datasource: str,
    known_schema: DatasetSchema | None,
    options: UploadOptions,
    uploaded_at: dt.datetime,
    progress: Progress | None = None,
    loaded: Sequence[Path] = (),
    limits: InputLimits = DEFAULT_LIMITS,
) -> Outcome:
    """Blocking (Polars, file I/O): run it in a thread. ReadError means the file cannot be read.

    `loaded`: the datasource's datasets so far; a schema's unique key (the sales Invoice ID) is
    unique per datasource, so a row whose key one of them holds is invalid. With mode=replace the
    rows of the upload's interval are replaced, so their keys may come again; a key loaded
    outside that interval may not (known once the upload's own times are: checked after).
    """
    job = _Job(
        path,
        file_format,
        workdir,
        datasource,
        known_schema,
        options,
        uploaded_at,
        progress,
        loaded,
        limits,
    )
    outcome = _normalize(job)
    if options.mode is not LoadMode.REPLACE or outcome.dataset is None or outcome.schema is None:
        return outcome
    outside = keys_outside(outcome, loaded)
    if outside is None:
        return outcome
    # Some of its keys are loaded outside the interval it replaces: read it again with those.
    clear(workdir)
    if progress is not None:
        progress.rows = 0
    return _normalize(dataclasses.replace(job, replace_keys=outside))


def _normalize(job: _Job) -> Outcome:
    with _polars_errors_as_read_errors(job.file_format):
        # A sheet is read once (in a child process), for the one pass and the batch path alike.
        if job.file_format not in (FileFormat.XLSX, FileFormat.XLS):
            return _passes(job, None)
        try:
            # The next upload's reader is started once this sheet is loaded: started at once,
            # it took CPU from the pass (0.12 s of 2.5 s on 200k rows, bench/RESULTS.md).
            sheet = open_excel(
                job.path,
                job.file_format.value,
                job.options.sheet,
                job.workdir,
                job.limits,
                replenish=False,
            )
            return _passes(job, sheet)
        finally:
            excel_child.SPARES.replenish()


def _passes(job: _Job, sheet: ExcelSource | None) -> Outcome:
    with tracing.span(
        "one pass: read, validate, write Parquet", **{"ingest.format": job.file_format.value}
    ) as span:
        clean = _one_pass(job, sheet)
        span.set_attribute("ingest.clean", clean is not None)
    if clean is not None:
        return clean
    return _batch_path(job, sheet)


def _one_pass(job: _Job, sheet: ExcelSource | None) -> Outcome | None:
    """A clean file in one streaming pass (backend.pipeline.fast), or None: read it in batches.
    Overrides that rename or drop columns leave the file to the batch path (types and date
    order are in the schema, which both paths use)."""
    progress = job.progress
    if job.options.overrides.rename or job.options.overrides.drop:
        return None

    def on_rows(rows: int) -> None:
        if progress is not None:
            progress.rows = rows

    if sheet is not None:
        clean = load_clean_sheet(
            sheet,
            job.workdir,
            job.schema,
            uploaded_at=job.uploaded_at,
            on_rows=on_rows,
            loaded_keys=job.keys,
        )
    else:
        load = load_clean_csv if job.file_format is FileFormat.CSV else load_clean_parquet
        clean = load(
            job.path,
            job.workdir,
            job.schema,
            uploaded_at=job.uploaded_at,
            on_rows=on_rows,
            loaded_keys=job.keys,
            limits=job.limits,
        )
    if clean is None:
        if progress is not None:
            progress.rows = 0
        return None
    return Outcome(
        clean.report, dataset=clean.dataset, schema=clean.schema, time_range=clean.time_range
    )


def _batch_path(job: _Job, sheet: ExcelSource | None = None) -> Outcome:
    """The file read in batches (backend.pipeline.batches), every problem in the report.
    `sheet`: the Excel sheet, when it was read already."""
    source: Source = sheet or open_source(
        job.path, job.file_format, job.workdir, job.options, job.limits
    )
    source = with_header_overrides(source, job.options.overrides)
    reserved.check_internal(source.header)
    report = Report(source.info)
    batches = source.batches()
    first = next(batches, None)
    if first is None or first.is_empty():
        return Outcome(report, failure=NO_ROWS)
    schema = job.schema(source.header, lambda: first)
    reserved.check_time(source.header, schema)
    match = _described(report, schema, source.header)
    if report.schema.fatal():
        return Outcome(report, schema=schema, failure=schema_failure(report))
    keys = job.keys(schema)
    match.mapping.update({name: name for name in match.absent})
    validator = BatchValidator(schema, match, job.uploaded_at, loaded_keys=keys)
    batched = with_absent(chain(first, batches), match.absent)
    outcome = run_batches(
        validator, batched, report, schema, job.workdir, job.options, job.progress
    )
    if not validator.repeats_across_batches():
        return outcome
    # A key repeats across batches: check again, comparing every batch with all earlier keys.
    clear(job.workdir)
    report = fresh_report(report)
    eager = BatchValidator(schema, match, job.uploaded_at, eager_unique=True, loaded_keys=keys)
    again = with_absent(source.batches(), match.absent)
    return run_batches(eager, again, report, schema, job.workdir, job.options, job.progress)


def _described(report: Report, schema: DatasetSchema, header: list[str]) -> ColumnMatch:
    """How `header` matches `schema`, told in the report (with the new columns it may offer)."""
    report.describe_schema(schema)
    match = match_columns(header, schema)
    report.schema.missing, report.schema.extra = match.missing, match.extra
    if schema.contract == INFERRED and not schema.ignore_extra:
        report.schema.changes += [offer(name, "add_column") for name in match.extra]
    return match


@contextmanager
def _polars_errors_as_read_errors(file_format: FileFormat) -> Iterator[None]:
    try:
        yield
    except pl.exceptions.PolarsError as exc:
        raise ReadError(
            f"the file cannot be read as {file_format.value}: {first_line(exc)}",
            "Check that the file is complete and in the format its content claims.",
        ) from exc


__all__ = [
    "DEFAULT_MAX_INVALID_RATIO",
    "Failure",
    "LoadMode",
    "OnInvalid",
    "Outcome",
    "Progress",
    "UploadOptions",
    "contract_detail",
    "evolve_detail",
    "normalize",
    "open_source",
]

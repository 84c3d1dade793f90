"""Read, validate and normalize an uploaded file into typed Parquet with __time, in batches so
memory stays flat; rejected rows go to a CSV and every problem into the report."""

from __future__ import annotations

import collections
import datetime as dt
import enum
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

from backend.contracts import evolution
from backend.contracts.evolution import WIDER, Evolve
from backend.contracts.sales import SALES, sales_schema
from backend.contracts.schema import INFERRED, TIME, DatasetSchema, match_columns
from backend.contracts.types import ColumnType
from backend.druid.spec import replaced
from backend.monitoring import tracing
from backend.pipeline import reserved
from backend.pipeline.fast import SchemaFor, load_clean_csv
from backend.pipeline.inference import infer_column, infer_schema
from backend.pipeline.rejected import write_rejected
from backend.pipeline.report import Report
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import DEFAULT_LIMITS, PROBLEM, InputLimits, ReadError, Source
from backend.pipeline.sources.csv import open_csv
from backend.pipeline.sources.excel import open_excel
from backend.pipeline.sources.parquet import open_parquet
from backend.pipeline.validator import BatchValidator

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


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    hint: str


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


def _schema_for(
    datasource: str,
    known: DatasetSchema | None,
    header: list[str],
    first: Callable[[], pl.DataFrame],
    options: UploadOptions,
) -> DatasetSchema:
    """The datasource's schema, or one inferred from `first()` (the first batch of the file)."""
    fixed = _fixed_schema(datasource, known, options)
    if fixed is not None and fixed.contract == INFERRED and options.evolve:
        return _evolved(fixed, header, first, options.evolve)
    if fixed is not None:
        return fixed
    if options.time_column is not None and options.time_column not in header:
        raise ReadError(
            f"time_column {options.time_column!r} is not a column of the file",
            f"Choose one of: {', '.join(repr(h) for h in header[:30])}.",
        )
    # A column named __time is meant as the timestamp: it is the time column unless told otherwise.
    named_time = reserved.time_column_of(header)
    time_column = options.time_column or named_time
    try:
        return infer_schema(first(), header, time_column)
    except ValueError as exc:
        if named_time is not None and time_column == named_time:
            raise reserved.not_timestamps(named_time) from exc
        raise ReadError(str(exc), "Name a column with dates or timestamps as time_column.") from exc


def _evolved(
    known: DatasetSchema,
    header: list[str],
    first: Callable[[], pl.DataFrame],
    evolve: tuple[Evolve, ...],
) -> DatasetSchema:
    """`known` with the changes `evolve` allows and the file shows: its columns the datasource
    lacks, added as columns that may be empty, with the types the first batch shows; integer
    columns the first batch has decimals in, widened to float."""
    match = match_columns(header, known)
    adding = Evolve.ADD_COLUMNS in evolve and bool(match.extra)
    narrow = [c.name for c in known.columns if c.type in WIDER] if Evolve.WIDEN in evolve else []
    if not adding and not narrow:
        return known
    rows = first().filter(pl.col(PROBLEM).is_null())
    source_of = {target: source for source, target in match.mapping.items()}
    added = [infer_column(name, rows[name]).as_dict() for name in match.extra] if adding else []
    widened = [
        name
        for name in narrow
        if name in source_of
        and infer_column(name, rows[source_of[name]]).type is WIDER[ColumnType.INTEGER]
    ]
    definition, changes = evolution.apply(known.as_dict(), added, widened, by="", at="")
    if not changes:
        return known
    evolved = DatasetSchema.from_dict(definition)
    evolved.changes = tuple(changes)
    return evolved


def _fixed_schema(
    datasource: str, known: DatasetSchema | None, options: UploadOptions
) -> DatasetSchema | None:
    """The schema the rows must have whatever the file holds, if there is one yet."""
    if known is not None and options.contract is not None and known.contract != options.contract:
        raise ReadError(
            f"datasource {datasource!r} has the {known.contract} contract, not {options.contract}",
            contract_hint(options.contract),
        )
    sales = datasource == SALES or options.contract == SALES
    contract = known.contract if known is not None else SALES if sales else INFERRED
    if options.evolve and contract != INFERRED:
        raise ReadError(
            f"datasource {datasource!r} has the {contract} contract: evolve applies to "
            "inferred datasources",
            evolve_hint(contract),
        )
    if datasource == SALES or options.contract == SALES or (known and known.contract == SALES):
        return sales_schema()
    return known


def evolve_hint(contract: str) -> str:
    if contract == SALES:
        return "The sales contract is fixed: upload without evolve."
    return (
        "Change a declared contract with updateDatasourceContract (GraphQL) or PATCH "
        "/api/datasources/{name}, then upload without evolve."
    )


def contract_hint(contract: str) -> str:
    return (
        f"Upload to a datasource that has the {contract} contract, or to a new name (it gets "
        "that contract on its first upload); GraphQL's datasources lists them."
        if contract == SALES
        else "Upload to a new datasource name."
    )


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
    outcome = _normalize(
        path,
        file_format,
        workdir,
        datasource,
        known_schema,
        options,
        uploaded_at,
        progress,
        loaded,
        limits=limits,
    )
    if options.mode is not LoadMode.REPLACE or outcome.dataset is None or outcome.schema is None:
        return outcome
    outside = _keys_outside(outcome, loaded)
    if outside is None:
        return outcome
    # Some of its keys are loaded outside the interval it replaces: read it again with those.
    _clear(workdir)
    if progress is not None:
        progress.rows = 0
    return _normalize(
        path,
        file_format,
        workdir,
        datasource,
        known_schema,
        options,
        uploaded_at,
        progress,
        loaded,
        replace_keys=outside,
        limits=limits,
    )


def _keys_outside(outcome: Outcome, loaded: Sequence[Path]) -> pl.Series | None:
    """The keys of rows loaded outside the interval a replace upload replaces, when some of the
    upload's valid rows hold one of them (else None)."""
    schema, dataset = outcome.schema, outcome.dataset
    if schema is None or dataset is None or schema.unique is None or not loaded:
        return None
    if outcome.time_range is None:
        return None
    start, end = replaced(*outcome.time_range)
    encode = pl.col(schema.unique) if schema.unique_encoding is None else schema.unique_encoding
    kept = (pl.col(TIME) < start) | (pl.col(TIME) >= end)
    outside = pl.concat(
        [pl.scan_parquet(p).filter(kept).select(encode.alias("key")) for p in loaded]
    ).collect()["key"]
    mine = pl.scan_parquet(dataset).select(encode.alias("key")).collect()["key"]
    return outside if bool(mine.is_in(outside.implode()).any()) else None


def _clear(workdir: Path) -> None:
    """Remove what a run left in `workdir` before the next one writes there."""
    for leftover in (
        *workdir.glob("part-*.arrow"),
        workdir / "dataset.parquet",
        workdir / "rejected.csv",
    ):
        leftover.unlink(missing_ok=True)


def _normalize(
    path: Path,
    file_format: FileFormat,
    workdir: Path,
    datasource: str,
    known_schema: DatasetSchema | None,
    options: UploadOptions,
    uploaded_at: dt.datetime,
    progress: Progress | None,
    loaded: Sequence[Path],
    replace_keys: pl.Series | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Outcome:
    with _polars_errors_as_read_errors(file_format):
        if file_format is FileFormat.CSV:

            def schema_for(header: list[str], sample: Callable[[], pl.DataFrame]) -> DatasetSchema:
                return _schema_for(datasource, known_schema, header, sample, options)

            with tracing.span("one pass: read, validate, write Parquet") as span:
                clean = _one_pass(
                    path,
                    workdir,
                    schema_for,
                    options,
                    uploaded_at,
                    progress,
                    loaded,
                    replace_keys,
                    limits,
                )
                span.set_attribute("ingest.clean", clean is not None)
            if clean is not None:
                return clean
        source = open_source(path, file_format, workdir, options, limits)
        reserved.check_internal(source.header)
        report = Report(source.info)
        batches = source.batches()
        first = next(batches, None)
        if first is None or first.is_empty():
            return Outcome(report, failure=NO_ROWS)
        schema = _schema_for(datasource, known_schema, source.header, lambda: first, options)
        reserved.check_time(source.header, schema)
        report.describe_schema(schema)
        match = match_columns(source.header, schema)
        report.schema.missing, report.schema.extra = match.missing, match.extra
        if schema.contract == INFERRED and not schema.ignore_extra:
            report.schema.changes += [_offer(name, "add_column") for name in match.extra]
        if report.schema.fatal():
            return Outcome(report, schema=schema, failure=_schema_failure(report))
        keys = _loaded_keys(schema, loaded) if options.mode is LoadMode.APPEND else replace_keys
        match.mapping.update({name: name for name in match.absent})
        validator = BatchValidator(schema, match, uploaded_at, loaded_keys=keys)
        outcome = _run(
            validator,
            _with_absent(_chain(first, batches), match.absent),
            report,
            schema,
            workdir,
            options,
            progress,
        )
        if not validator.repeats_across_batches():
            return outcome
        # A key repeats across batches: check again, comparing every batch with all earlier keys.
        _clear(workdir)
        report = _fresh_report(report)
        eager = BatchValidator(schema, match, uploaded_at, eager_unique=True, loaded_keys=keys)
        again = _with_absent(source.batches(), match.absent)
        return _run(eager, again, report, schema, workdir, options, progress)


def _with_absent(batches: Iterator[pl.DataFrame], absent: list[str]) -> Iterator[pl.DataFrame]:
    """Columns a later schema version added and the file leaves out, as empty text columns."""
    for batch in batches:
        yield batch.with_columns([pl.lit(None, pl.String).alias(name) for name in absent])


def _one_pass(
    path: Path,
    workdir: Path,
    schema_for: SchemaFor,
    options: UploadOptions,
    uploaded_at: dt.datetime,
    progress: Progress | None,
    loaded: Sequence[Path],
    replace_keys: pl.Series | None,
    limits: InputLimits,
) -> Outcome | None:
    """A clean CSV in one streaming pass (backend.pipeline.fast), or None: read it in batches."""

    def on_rows(rows: int) -> None:
        if progress is not None:
            progress.rows = rows

    def loaded_keys(schema: DatasetSchema) -> pl.Series | None:
        return _loaded_keys(schema, loaded) if options.mode is LoadMode.APPEND else replace_keys

    clean = load_clean_csv(
        path,
        workdir,
        schema_for,
        uploaded_at=uploaded_at,
        on_rows=on_rows,
        loaded_keys=loaded_keys,
        limits=limits,
    )
    if clean is None:
        if progress is not None:
            progress.rows = 0
        return None
    return Outcome(
        clean.report, dataset=clean.dataset, schema=clean.schema, time_range=clean.time_range
    )


class _KeyCache:
    """The unique key's encoded values per stored dataset. Datasets never change once written,
    so each is read once per process; a new upload then reads only what landed since."""

    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self._found: collections.OrderedDict[tuple[str, str], pl.Series] = collections.OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def keys(self, path: Path, column: str, encode: pl.Expr) -> pl.Series:
        entry = (str(path), column)
        with self._lock:
            if entry in self._found:
                self._found.move_to_end(entry)
                return self._found[entry]
        found = pl.scan_parquet(path).select(encode.alias("key")).collect().to_series()
        with self._lock:
            self._found[entry] = found
            self._size += len(found)
            while self._size > self.max_values and len(self._found) > 1:
                _, dropped = self._found.popitem(last=False)
                self._size -= len(dropped)
        return found


_KEYS = _KeyCache(max_values=50_000_000)  # 8 bytes each for sales: at most ~400 MB


def _loaded_keys(schema: DatasetSchema, loaded: Sequence[Path]) -> pl.Series | None:
    """The unique key's values in the datasets already loaded, encoded as the validator does."""
    if schema.unique is None or not loaded:
        return None
    encode = pl.col(schema.unique) if schema.unique_encoding is None else schema.unique_encoding
    parts = [_KEYS.keys(path, schema.unique, encode) for path in loaded]
    return pl.concat(parts, rechunk=False) if parts else None


@contextmanager
def _polars_errors_as_read_errors(file_format: FileFormat) -> Iterator[None]:
    try:
        yield
    except pl.exceptions.PolarsError as exc:
        raise ReadError(
            f"the file cannot be read as {file_format.value}: {_first_line(exc)}",
            "Check that the file is complete and in the format its content claims.",
        ) from exc


def _fresh_report(previous: Report) -> Report:
    report = Report(
        previous.source, schema=previous.schema, columns=previous.columns, time=previous.time
    )
    report.schema.wrong_type = []
    return report


def _chain(first: pl.DataFrame, rest: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    yield first
    yield from rest


def _run(
    validator: BatchValidator,
    batches: Iterator[pl.DataFrame],
    report: Report,
    schema: DatasetSchema,
    workdir: Path,
    options: UploadOptions,
    progress: Progress | None,
) -> Outcome:
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
            f"the file cannot be read: {_first_line(exc)}", "Check the file's format."
        ) from exc
    finally:
        if rejected_file is not None:
            rejected_file.close()
    report.find_wrong_types({c.name: c.type.value for c in schema.columns})
    if schema.contract == INFERRED:
        report.schema.changes += [_offer(name, "widen") for name in _with_decimals(report, schema)]
    outcome = Outcome(
        report, rejected=rejected_path if report.rows_rejected else None, schema=schema
    )
    outcome.failure = _policy_failure(report, options)
    if outcome.failure is None:
        outcome.dataset = _merge(parts, workdir / "dataset.parquet")
        outcome.time_range = _time_range(outcome.dataset)
    report.outcome = "failed" if outcome.failure else "loaded"
    return outcome


def _merge(parts: list[Path], target: Path) -> Path:
    # zstd level 1: within 10% of the default size, a quarter faster to write.
    with tracing.span("write Parquet", **{"ingest.parts": len(parts)}):
        pl.scan_ipc(parts).sink_parquet(target, compression="zstd", compression_level=1)
    for part in parts:
        part.unlink()
    return target


def _time_range(dataset: Path) -> tuple[dt.datetime, dt.datetime]:
    bounds = pl.scan_parquet(dataset).select(
        pl.col(TIME).min().alias("low"), pl.col(TIME).max().alias("high")
    )
    low, high = bounds.collect().row(0)
    return low, high


_RESOLUTIONS = {
    "add_column": "re-send with evolve=add_columns (the column is added, empty for rows already "
    "loaded)",
    "widen": "re-send with evolve=widen (the column becomes float; integers already loaded are "
    "kept)",
}


def _offer(column: str, kind: str) -> dict[str, Any]:
    return {"column": column, "kind": kind, "applied": False, "resolution": _RESOLUTIONS[kind]}


def _with_decimals(report: Report, schema: DatasetSchema) -> list[str]:
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


def _offered(report: Report) -> str:
    """What the report offers, as one sentence for a failure's hint ("" when nothing)."""
    offers = [c for c in report.schema.changes if not c["applied"]]
    said = {
        kind: ", ".join(repr(c["column"]) for c in offers if c["kind"] == kind)
        for kind in _RESOLUTIONS
    }
    parts = [
        f"{'new column(s)' if kind == 'add_column' else 'decimals in integer column(s)'} "
        f"{names}: {_RESOLUTIONS[kind]}"
        for kind, names in said.items()
        if names
    ]
    return " ".join(f"For {part}." for part in parts)


def _schema_failure(report: Report) -> Failure:
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
    return Failure(
        "schema_mismatch",
        "the file's columns do not match the datasource: " + "; ".join(said),
        _offered(report)
        or "Rename or add the columns listed (names are matched ignoring case and surrounding "
        "spaces), or upload to a new datasource.",
    )


def _policy_failure(report: Report, options: UploadOptions) -> Failure | None:
    failure = _failure_of(report, options)
    offered = _offered(report)
    if failure is None or not offered or failure.hint.startswith(offered):
        return failure
    return Failure(failure.code, failure.message, f"{offered} {failure.hint}")


def _failure_of(report: Report, options: UploadOptions) -> Failure | None:
    if report.schema.fatal():
        return _schema_failure(report)
    if report.rows_read == 0:
        return NO_ROWS
    if report.rows_valid == 0:
        return Failure(
            "no_valid_rows",
            f"none of the {report.rows_read} rows is valid",
            "See the checks in the report and the rejected rows file.",
        )
    if not report.rows_rejected:
        return None
    where = f"{report.rows_rejected} of {report.rows_read} rows are invalid"
    if options.on_invalid is OnInvalid.REJECT:
        return Failure(
            "invalid_rows",
            f"{where}; nothing was loaded",
            "Fix the rows listed in the report (or download the rejected rows), or upload again "
            "with on_invalid=skip to load the valid rows only.",
        )
    ratio = report.rows_rejected / report.rows_read
    if ratio > options.max_invalid_ratio:
        return Failure(
            "too_many_invalid_rows",
            f"{where} ({ratio:.1%}), more than max_invalid_ratio {options.max_invalid_ratio:.1%}; "
            "nothing was loaded",
            "Fix the file, or raise max_invalid_ratio if that many invalid rows are expected.",
        )
    return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = [
    "DEFAULT_MAX_INVALID_RATIO",
    "Failure",
    "LoadMode",
    "OnInvalid",
    "Outcome",
    "Progress",
    "UploadOptions",
    "normalize",
]

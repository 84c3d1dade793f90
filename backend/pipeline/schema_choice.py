"""The schema an upload's rows must have: the sales contract, the datasource's own schema (with
the changes `evolve` allows and the file shows), or one inferred from the file's first batch."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from backend.contracts import evolution
from backend.contracts.evolution import WIDER, Evolve
from backend.contracts.sales import SALES, sales_schema
from backend.contracts.schema import INFERRED, DatasetSchema, match_columns
from backend.contracts.types import ColumnType
from backend.pipeline import overrides, reserved
from backend.pipeline.inference import infer_column, infer_schema
from backend.pipeline.options import UploadOptions
from backend.pipeline.sources.base import PROBLEM, ReadError


def schema_for(
    datasource: str,
    known: DatasetSchema | None,
    header: list[str],
    first: Callable[[], pl.DataFrame],
    options: UploadOptions,
) -> DatasetSchema:
    """The datasource's schema, or one inferred from `first()` (the first batch of the file)."""
    fixed = _fixed_schema(datasource, known, options)
    if fixed is not None and fixed.contract == INFERRED and options.evolve:
        fixed = _evolved(fixed, header, first, options.evolve)
    if fixed is not None:
        return overrides.on_fixed_schema(fixed, options.overrides, header)
    if options.time_column is not None and options.time_column not in header:
        raise ReadError(
            f"time_column {options.time_column!r} is not a column of the file",
            f"Choose one of: {', '.join(repr(h) for h in header[:30])}.",
        )
    # A column named __time is meant as the timestamp: it is the time column unless told otherwise.
    named_time = reserved.time_column_of(header)
    time_column = options.time_column or named_time
    try:
        return infer_schema(
            first(),
            header,
            time_column,
            lambda columns: overrides.typed_columns(columns, options.overrides, header),
        )
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
            contract_detail(options.contract),
        )
    sales = datasource == SALES or options.contract == SALES
    contract = known.contract if known is not None else SALES if sales else INFERRED
    if options.evolve and contract != INFERRED:
        raise ReadError(
            f"datasource {datasource!r} has the {contract} contract: evolve applies to "
            "inferred datasources",
            evolve_detail(contract),
        )
    if datasource == SALES or options.contract == SALES or (known and known.contract == SALES):
        return sales_schema()
    return known


def evolve_detail(contract: str) -> str:
    if contract == SALES:
        return "The sales contract is fixed: upload without evolve."
    return (
        "Change a declared contract with updateDatasourceContract (GraphQL) or PATCH "
        "/api/datasources/{name}, then upload without evolve."
    )


def contract_detail(contract: str) -> str:
    return (
        f"Upload to a datasource that has the {contract} contract, or to a new name (it gets "
        "that contract on its first upload); GraphQL's datasources lists them."
        if contract == SALES
        else "Upload to a new datasource name."
    )

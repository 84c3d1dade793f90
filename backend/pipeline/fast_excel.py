"""The one pass (backend.pipeline.fast) for a sheet: the grid calamine read (sources.excel, in its
child process) checked, converted and written in one plan, instead of the batch path's checks, its
Arrow part and the merge into Parquet.

The sheet is read once: the batch path takes the same source when the pass gives way. The frame
is the batch path's only batch (a sheet is read whole), so the plan sees exactly the values the
batch path would; columns are converted by the expression the batch path tries first, and what it
would change or decide on stops the pass (see fast_parquet.typed_plan).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl

from backend.contracts.schema import DatasetSchema
from backend.pipeline import fast, reserved
from backend.pipeline.fast import Clean, KeysFor, SchemaFor
from backend.pipeline.fast_parquet import typed_plan
from backend.pipeline.sources.base import PROBLEM, ROW, ReadError
from backend.pipeline.sources.excel import ExcelSource


def load_clean_sheet(
    source: ExcelSource,
    workdir: Path,
    schema_for: SchemaFor | DatasetSchema,
    *,
    uploaded_at: dt.datetime,
    on_rows: Callable[[int], None] | None = None,
    loaded_keys: KeysFor = lambda schema: None,
) -> Clean | None:
    """The sheet loaded in one pass, or None when the batch path must look at it."""
    frame = source.frame
    if frame.is_empty():
        return None
    try:
        reserved.check_internal(source.header)
        if isinstance(schema_for, DatasetSchema):
            schema = schema_for
        else:
            schema = schema_for(source.header, lambda: frame)
        reserved.check_time(source.header, schema)
    except (ReadError, pl.exceptions.PolarsError):
        return None
    types = {name: frame.schema[name] for name in source.header}
    built = typed_plan(types, schema)
    if built is None:
        return None
    columns, checks = built
    stream = frame.lazy().drop(ROW, PROBLEM).select(columns)
    return fast.load(
        stream,
        checks,
        schema,
        source.info,
        workdir,
        uploaded_at=uploaded_at,
        on_rows=on_rows,
        loaded_keys=loaded_keys,
    )

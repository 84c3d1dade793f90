"""What the one-pass tests share: normalize() run with or without a format's one pass, what it
left behind to compare, and the comparison itself."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from backend.pipeline import normalize as normalize_module
from backend.pipeline.normalize import Outcome, UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import ReadError

UPLOADED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def run_normalize(
    path: Path,
    file_format: FileFormat,
    one_pass_name: str,
    *,
    one_pass: bool,
    options: UploadOptions | None = None,
    **kwargs: Any,
) -> tuple[Outcome, dict[str, Any], list[bool]]:
    """normalize() with the format's one pass (`one_pass_name`: the normalize module's
    load_clean_csv, load_clean_parquet or load_clean_sheet) or without it; what it left to
    compare; per call of the one pass, whether it loaded the file."""
    workdir = Path(tempfile.mkdtemp(dir=path.parent))
    original = getattr(normalize_module, one_pass_name)
    taken: list[bool] = []

    def spy(*args: Any, **kw: Any) -> Any:
        clean = original(*args, **kw) if one_pass else None
        taken.append(clean is not None)
        return clean

    setattr(normalize_module, one_pass_name, spy)
    try:
        try:
            outcome = normalize(
                path,
                file_format,
                workdir,
                datasource=kwargs.pop("datasource", "sales"),
                known_schema=kwargs.pop("known_schema", None),
                options=options or UploadOptions(),
                uploaded_at=UPLOADED,
                **kwargs,
            )
        except ReadError as exc:  # the file cannot be read: the same message either way
            return Outcome(None), {"error": (exc.message, exc.detail)}, taken
    finally:
        setattr(normalize_module, one_pass_name, original)
    seen = {
        "report": outcome.report.as_dict() if outcome.report else None,
        "failure": outcome.failure,
        "schema": outcome.schema.as_dict() if outcome.schema else None,
        "time_range": outcome.time_range,
        "rows": pl.read_parquet(outcome.dataset) if outcome.dataset else None,
        "rejected": outcome.rejected.read_bytes() if outcome.rejected else None,
        "files": sorted(p.name for p in workdir.iterdir()),
    }
    return outcome, seen, taken


def assert_same(one: dict[str, Any], batch: dict[str, Any]) -> None:
    if "error" in batch or "error" in one:
        assert one == batch
        return
    for key in ("report", "failure", "schema", "time_range", "rejected", "files"):
        assert one[key] == batch[key], f"{key}: {one[key]!r:.600} != {batch[key]!r:.600}"
    if batch["rows"] is None:
        assert one["rows"] is None
    else:
        assert one["rows"].schema == batch["rows"].schema
        assert one["rows"].equals(batch["rows"])

"""An upload as it arrives: the staged file (`StagedUpload`), the datasource's name checked and
the upload's options read. Its bytes are streamed into storage by `backend.ingestion.intake`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from backend.contracts.evolution import parse_evolve
from backend.errors import InvalidInput
from backend.pipeline.normalize import DEFAULT_MAX_INVALID_RATIO, LoadMode, OnInvalid, UploadOptions
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import DEFAULT_LIMITS
from backend.storage import ObjectStore

log = logging.getLogger(__name__)

DATASOURCE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass
class StagedUpload:
    """An upload stored under raw/<task_id>/ but not yet recorded as a task."""

    task_id: str
    filename: str
    key: str
    size: int
    sha256: str
    file_format: FileFormat
    store: ObjectStore = field(repr=False)
    # The sha256 is one an uploader declared, not yet checked against the bytes (a copy of such
    # a task's file): no duplicate is looked for with it, and the new task's worker checks it.
    sha256_declared: bool = False

    async def discard(self) -> None:
        try:
            await self.store.delete(self.key)
        except Exception:  # noqa: BLE001 - best effort; the error being reported matters more
            log.exception("could not delete staged upload %s", self.key)


def validate_datasource_name(name: str | None) -> str:
    if name is None or not name.strip():
        raise InvalidInput(
            "datasource_name is required",
            "Send the target datasource as the form field datasource_name, e.g. sales.",
        )
    name = name.strip()
    if not DATASOURCE_PATTERN.match(name):
        raise InvalidInput(
            f"invalid datasource name {name[:80]!r}",
            "A datasource name starts with a letter and has up to 64 letters, digits or "
            "underscores (pattern ^[A-Za-z][A-Za-z0-9_]{0,63}$), e.g. sales or sales_2024.",
        )
    return name


def upload_options(
    *,
    on_invalid: str | None = None,
    max_invalid_ratio: str | float | None = None,
    sheet: str | None = None,
    time_column: str | None = None,
    mode: str | None = None,
    evolve: str | None = None,
) -> UploadOptions:
    """Per-upload processing options, checked at upload time (422 with what to change)."""
    policy = (on_invalid or OnInvalid.REJECT.value).strip().lower()
    if policy not in {p.value for p in OnInvalid}:
        raise InvalidInput(
            f"on_invalid must be reject or skip (got {str(on_invalid)[:40]!r})",
            "reject (default): any invalid row fails the upload; skip: load the valid rows.",
        )
    load_mode = (mode or LoadMode.APPEND.value).strip().lower()
    if load_mode not in {m.value for m in LoadMode}:
        raise InvalidInput(
            f"mode must be append or replace (got {str(mode)[:40]!r})",
            "append (default): add the rows; replace: the rows replace the datasource's rows in "
            "the time interval they cover.",
        )
    ratio = _ratio(max_invalid_ratio)
    return UploadOptions(
        on_invalid=OnInvalid(policy),
        max_invalid_ratio=ratio,
        sheet=_name_option("sheet", sheet),
        time_column=_name_option("time_column", time_column),
        mode=LoadMode(load_mode),
        evolve=parse_evolve(evolve),
    )


def _name_option(option: str, value: str | None) -> str | None:
    """A column or sheet name given with the upload; kept on the task, so bounded as a file's
    column names are (MAX_COLUMN_NAME_CHARS, default)."""
    name = (value or "").strip() or None
    limit = DEFAULT_LIMITS.column_name_chars
    if name is not None and len(name) > limit:
        raise InvalidInput(
            f"{option} is {len(name):,} characters long; a name has at most {limit}",
            f"Send {option} as the file names it (a column of the header, or a sheet).",
        )
    return name


def _ratio(value: str | float | None) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_MAX_INVALID_RATIO
    try:
        ratio = float(value)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise InvalidInput(
            f"max_invalid_ratio must be a number from 0 to 1 (got {value!r})",
            "For example 0.05 allows up to 5% invalid rows when invalid rows are skipped.",
        )
    return ratio

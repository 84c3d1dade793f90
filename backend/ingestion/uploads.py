"""An upload as it arrives: its options checked, its bytes streamed into storage (size, digest
and format found on the way) before it is recorded as a task."""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import quote

from backend import threads
from backend.contracts.evolution import parse_evolve
from backend.digits import ascii_count
from backend.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from backend.pipeline.normalize import DEFAULT_MAX_INVALID_RATIO, LoadMode, OnInvalid, UploadOptions
from backend.pipeline.sniff import SNIFF_BYTES, FileFormat, UnrecognisedContent, sniff_format
from backend.pipeline.sources.base import DEFAULT_LIMITS
from backend.storage import ObjectStore, ObjectWriter
from backend.storage.space import SpaceGuard

log = logging.getLogger(__name__)

DATASOURCE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._%-]+")
_CUT_ESCAPE = re.compile(r"%[0-9A-F]?$")  # an escape cut in two by the length limit
# While an upload streams in, free space is checked again after every this many bytes.
SPACE_CHECK_BYTES = 64 * 1024 * 1024


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


def safe_filename(filename: str | None) -> str:
    """The upload's name as the last part of its storage key: ASCII, no path, no leading "." or
    "_", at most 200 characters. Accents are dropped (données.csv -> donnees.csv); other
    non-ASCII characters are percent-encoded as UTF-8, so any URL decoder shows them again
    (売上.csv -> %E5%A3%B2%E4%B8%8A.csv); other ASCII characters become "_". The task keeps the
    name as it was sent: that is what users see."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    folded = unicodedata.normalize("NFKD", base)
    escaped = "".join(
        c if c.isascii() and c != "%" else quote(c, safe="")
        for c in folded
        if not unicodedata.combining(c)
    )
    cleaned = _UNSAFE_FILENAME_CHARS.sub("_", escaped)[:200]
    return _CUT_ESCAPE.sub("", cleaned).strip("._") or "upload"


async def stage_upload(
    store: ObjectStore,
    chunks: AsyncIterator[bytes],
    filename: str | None,
    max_bytes: int,
    space: SpaceGuard | None = None,
) -> StagedUpload:
    """Stream an upload into storage while counting size and sha256.

    Refuses (and deletes what was written) when the content is empty, too large or not a
    supported format; the format is decided from the first bytes, before the rest is stored.
    """
    task_id = uuid.uuid4().hex
    name = safe_filename(filename)
    writer = store.writer(f"raw/{task_id}/{name}")
    try:
        file_format = await _stream_into(writer, chunks, max_bytes, space)
        stored = await writer.commit()
    except BaseException:
        await writer.abort()
        raise
    return StagedUpload(
        task_id=task_id,
        filename=(filename or name)[:255],
        key=stored.key,
        size=stored.size,
        sha256=stored.sha256,
        file_format=file_format,
        store=store,
    )


async def _stream_into(
    writer: ObjectWriter,
    chunks: AsyncIterator[bytes],
    max_bytes: int,
    space: SpaceGuard | None = None,
) -> FileFormat:
    head = bytearray()
    file_format: FileFormat | None = None
    checked = 0
    if space is not None:
        await threads.FILES.run(space.check)
    async for chunk in chunks:
        if writer.size + len(chunk) > max_bytes:
            raise _too_large(max_bytes)
        if space is not None and writer.size - checked >= SPACE_CHECK_BYTES:
            checked = writer.size
            await threads.FILES.run(space.check)
        if file_format is None:
            head += chunk[: SNIFF_BYTES - len(head)]
            if len(head) >= SNIFF_BYTES:
                file_format = _sniff(bytes(head))
        await writer.write(chunk)
    if writer.size == 0:
        raise InvalidInput(
            "the uploaded file is empty", "Choose a file with a header row and data."
        )
    return file_format or _sniff(bytes(head))


def _sniff(head: bytes) -> FileFormat:
    try:
        return sniff_format(head)
    except UnrecognisedContent as exc:
        raise UnsupportedMediaType(
            f"unsupported file content: the upload looks like {exc}",
            "Upload a CSV (or TSV) text file, an Excel workbook (.xlsx, .xls) or a Parquet file. "
            "The format is recognised from the file's bytes, not its name.",
        ) from exc


def _too_large(max_bytes: int) -> PayloadTooLarge:
    limit_mb = max_bytes // (1024 * 1024)
    return PayloadTooLarge(
        f"the upload is larger than the limit of {limit_mb} MB",
        f"Split the file into parts under {limit_mb} MB, or raise MAX_UPLOAD_MB on the server.",
    )


def check_declared_size(
    content_length: str | None, max_bytes: int, space: SpaceGuard | None = None
) -> None:
    """Refuse at once when the declared request size cannot fit (64 KiB allowed for form
    overhead), or would not leave the disk's reserve free."""
    declared = ascii_count(content_length) or 0
    if declared > max_bytes + 65_536:
        raise _too_large(max_bytes)
    if space is not None:
        space.check(declared)


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
            "For example max_invalid_ratio=0.05 allows up to 5% invalid rows with on_invalid=skip.",
        )
    return ratio

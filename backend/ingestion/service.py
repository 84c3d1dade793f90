"""Accepting uploads and managing ingestion tasks: the state machine both REST and GraphQL call.

Services flush; the caller's scope (request or worker) commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import threads
from backend.auth.principal import SYSTEM, Principal
from backend.auth.roles import Role
from backend.contracts.evolution import parse_evolve
from backend.contracts.sales import SALES
from backend.contracts.schema import INFERRED
from backend.contracts.stored import known_schema
from backend.db import SessionMaker, after_commit, on_rollback, session_scope, utcnow
from backend.digits import ascii_count
from backend.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from backend.ingestion import access
from backend.monitoring import audit, tracing
from backend.monitoring.metrics import Registry
from backend.paging import check_page
from backend.pipeline.normalize import (
    DEFAULT_MAX_INVALID_RATIO,
    LoadMode,
    OnInvalid,
    UploadOptions,
    contract_hint,
    evolve_hint,
)
from backend.pipeline.sniff import SNIFF_BYTES, FileFormat, UnrecognisedContent, sniff_format
from backend.pipeline.sources.base import DEFAULT_LIMITS
from backend.storage import ObjectStore, ObjectWriter
from backend.storage.space import SpaceGuard
from backend.tasks.models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    IngestionTask,
    TaskEvent,
    TaskStatus,
)
from backend.worker.processing import rejected_key

log = logging.getLogger(__name__)

DATASOURCE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._%-]+")
_CUT_ESCAPE = re.compile(r"%[0-9A-F]?$")  # an escape cut in two by the length limit
MAX_TASKS_PAGE = 200
# While an upload streams in, free space is checked again after every this many bytes.
SPACE_CHECK_BYTES = 64 * 1024 * 1024
# Set on a session when it queued work, so its owner can wake the workers after commit.
WAKE_WORKERS = "wake_workers"


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


@dataclass(frozen=True)
class Accepted:
    task: IngestionTask
    created: bool  # False: the same bytes were already uploaded to this datasource

    @property
    def message(self) -> str:
        """What happened, in words, for the upload's answer."""
        task = self.task
        if self.created:
            return f"queued as task {task.id}; follow its status until succeeded or failed"
        return (
            f"these bytes were already uploaded to datasource {task.datasource!r} as task "
            f"{task.id} ({task.status}): nothing new was queued. To load the same file again "
            "send force=true (rows whose unique key, such as a sales Invoice ID, is already "
            "loaded are refused), or mode=replace to replace the rows of its time interval "
            "with the file's (the same bytes are then loaded again)."
        )


@dataclass(frozen=True)
class TaskPage:
    items: list[IngestionTask]
    total: int
    limit: int
    offset: int


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


async def accept(
    session: AsyncSession,
    staged: StagedUpload,
    datasource: str | None,
    *,
    force: bool = False,
    options: UploadOptions | None = None,
    actor: Principal = SYSTEM,
    metrics: Registry | None = None,
) -> Accepted:
    """Record a staged upload as a queued task, or return the task that already has these bytes
    (`metrics` counts the bytes of each one accepted, once recorded)."""
    try:
        name = validate_datasource_name(datasource)
        await access.require_write(session, name, actor, "upload to it", claim_new=True)
        if options is not None and options.contract is not None:
            await require_contract(session, name, options.contract)
        if options is not None and options.evolve:
            await require_evolvable(session, name)
        await _lock_content(session, name, staged.sha256)
        chosen = options or UploadOptions()
        if (
            not force
            and chosen.mode is LoadMode.APPEND
            and (existing := await _find_duplicate(session, name, staged.sha256, chosen.sheet))
        ):
            await staged.discard()
            return Accepted(task=existing, created=False)
        task = _new_task(staged, name, force, options or UploadOptions())
        task.created_by = actor.id
        session.add(task)
        on_rollback(session, staged.discard)  # a failed commit must not leave the bytes behind
        if metrics is not None:
            after_commit(session, lambda: metrics.upload_bytes.inc(staged.size))
        audit.record(
            session,
            actor.label,
            "upload",
            task.id,
            {"datasource": name, "filename": task.filename, "bytes": task.size_bytes},
        )
        await session.flush()
    except BaseException:
        await staged.discard()
        raise
    session.info[WAKE_WORKERS] = True
    return Accepted(task=task, created=True)


async def require_evolvable(session: AsyncSession, datasource: str) -> None:
    """evolve=... only changes inferred datasources (the sales contract is fixed; a declared one
    changes by updateDatasourceContract)."""
    known = await known_schema(session, datasource)
    contract = known.contract if known is not None else SALES if datasource == SALES else None
    if contract is not None and contract != INFERRED:
        raise Conflict(
            f"datasource {datasource!r} has the {contract} contract: evolve applies to inferred "
            "datasources",
            evolve_hint(contract),
        )


async def require_contract(session: AsyncSession, datasource: str, contract: str) -> None:
    """Refuses an upload that must pass `contract` to a datasource that has another one (the
    worker checks again: two first uploads may race)."""
    known = await known_schema(session, datasource)
    if known is not None and known.contract != contract:
        raise Conflict(
            f"datasource {datasource!r} has the {known.contract} contract; this upload must "
            f"pass the {contract} contract",
            contract_hint(contract),
        )


def _new_task(
    staged: StagedUpload, datasource: str, force: bool, options: UploadOptions
) -> IngestionTask:
    now = utcnow()
    task = IngestionTask(
        id=staged.task_id,
        datasource=datasource,
        filename=staged.filename,
        file_format=staged.file_format.value,
        size_bytes=staged.size,
        sha256=staged.sha256,
        storage_key=staged.key,
        options={"force": force, **options.as_dict()},
        status=TaskStatus.QUEUED.value,
        progress=0.0,
        attempts=0,
        created_at=now,
        updated_at=now,
        trace_context=tracing.carrier(),  # the worker continues the upload's trace
    )
    task.events = [
        TaskEvent(
            at=now,
            status=TaskStatus.QUEUED.value,
            message=f"upload received: {staged.size} bytes, {staged.file_format.value}",
            detail={"sha256": staged.sha256, "storage_key": staged.key},
        )
    ]
    return task


async def _lock_content(session: AsyncSession, datasource: str, sha256: str) -> None:
    """Serialise uploads of the same bytes to the same datasource until this transaction ends,
    so the duplicate check and the insert are atomic. PostgreSQL: a transaction-level advisory
    lock on the pair; SQLite: every write transaction already begins IMMEDIATE (one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"upload:{datasource}:{sha256}"},
        )


async def _find_duplicate(
    session: AsyncSession, datasource: str, sha256: str, sheet: str | None
) -> IngestionTask | None:
    """The task that loads (or will load) the same rows: the same bytes to the same datasource,
    of the same sheet for a workbook (another sheet holds other rows). A failed or cancelled
    upload does not block sending the same bytes again."""
    query = (
        _with_events(select(IngestionTask))
        .where(
            IngestionTask.datasource == datasource,
            IngestionTask.sha256 == sha256,
            IngestionTask.status.not_in([TaskStatus.FAILED.value, TaskStatus.CANCELLED.value]),
        )
        .order_by(IngestionTask.created_at.desc())
        .limit(100)
    )
    for task in (await session.scalars(query)).all():
        if _sheet(task.options.get("sheet")) == _sheet(sheet):
            return task
    return None


def _sheet(sheet: str | None) -> str:
    """A workbook's sheet as chosen: none is the first."""
    return (sheet or "1").strip().casefold()


def _with_events(query: Select[IngestionTask]) -> Select[IngestionTask]:
    return query.options(selectinload(IngestionTask.events))


async def get_task(session: AsyncSession, task_id: str, *, lock: bool = False) -> IngestionTask:
    """`lock`: held until the transaction ends (PostgreSQL row lock; SQLite's write
    transactions are serialised already), for a change that depends on the task's state."""
    query = _with_events(select(IngestionTask)).where(IngestionTask.id == task_id)
    if lock:
        query = query.with_for_update(of=IngestionTask)
    task = (await session.scalars(query)).first()
    if task is None:
        raise NotFound(
            f"no ingestion task with id {task_id[:64]!r}",
            "Use the task_id returned by the upload, or list tasks at GET /api/ingest/tasks.",
        )
    return task


async def list_tasks(
    session: AsyncSession,
    *,
    datasource: str | None = None,
    status: TaskStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TaskPage:
    check_page(limit, offset, MAX_TASKS_PAGE)
    conditions = []
    if datasource:
        conditions.append(IngestionTask.datasource == datasource)
    if status:
        conditions.append(IngestionTask.status == status.value)
    total = await session.scalar(select(func.count()).select_from(IngestionTask).where(*conditions))
    query = (
        _with_events(select(IngestionTask))
        .where(*conditions)
        .order_by(IngestionTask.created_at.desc(), IngestionTask.id)
        .limit(limit)
        .offset(offset)
    )
    items = list((await session.scalars(query)).all())
    return TaskPage(items=items, total=int(total or 0), limit=limit, offset=offset)


def add_event(
    task: IngestionTask, status: TaskStatus, message: str, detail: dict[str, Any] | None = None
) -> None:
    now = utcnow()
    task.status = status.value
    task.updated_at = now
    task.events.append(TaskEvent(at=now, status=status.value, message=message, detail=detail))


def _check_owner(task: IngestionTask, actor: Principal, action: str) -> None:
    """An uploader may act only on its own tasks; an admin on any."""
    if actor.allows(Role.ADMIN) or (task.created_by is not None and task.created_by == actor.id):
        return
    raise Forbidden(
        f"task {task.id} was uploaded by someone else: only its uploader or an admin may {action} it",
        "Ask an admin, or act on your own tasks.",
    )


async def retry(session: AsyncSession, task_id: str, actor: Principal = SYSTEM) -> IngestionTask:
    task = await get_task(session, task_id, lock=True)
    _check_owner(task, actor, "retry")
    await access.require_write(session, task.datasource, actor, "load into it")
    if task.status not in (TaskStatus.FAILED.value, TaskStatus.CANCELLED.value):
        finished = task.status == TaskStatus.SUCCEEDED.value
        raise Conflict(
            f"task {task_id} is {task.status} and cannot be retried",
            "Only failed or cancelled tasks can be retried; its data is loaded already."
            if finished
            else "Only failed or cancelled tasks can be retried; wait for this one to finish.",
        )
    # The same bytes may have been loaded since (sent again, e.g. with evolve=...): a retry
    # would load them twice, which an upload of the same bytes is refused for too.
    await _lock_content(session, task.datasource, task.sha256)
    other = await _find_duplicate(session, task.datasource, task.sha256, task.options.get("sheet"))
    replacing = task.options.get("mode") == LoadMode.REPLACE.value
    if other is not None and not task.options.get("force") and not replacing:
        raise Conflict(
            f"task {other.id} has the same file for datasource {task.datasource!r} and is "
            f"{other.status}: retrying {task_id} would load it twice",
            "Follow that task instead; to load the bytes a second time on purpose, upload "
            "them with force=true.",
        )
    task.attempts = 0
    task.error = None
    task.report = None
    task.rows_read = task.rows_valid = task.rows_rejected = None
    task.progress = 0.0
    task.finished_at = None
    task.lease_owner = None
    task.lease_expires_at = None
    # Everything is done again, including a new Druid task (the old one failed or never ran).
    task.druid_task_id = None
    task.druid_report = None
    task.next_attempt_at = None
    task.data_as_of = None
    task.dataset_key = None
    add_event(task, TaskStatus.QUEUED, "retry requested")
    audit.record(session, actor.label, "retry", task.id)
    await session.flush()
    session.info[WAKE_WORKERS] = True
    return task


async def cancel(
    session: AsyncSession,
    task_id: str,
    actor: Principal = SYSTEM,
    metrics: Registry | None = None,
) -> IngestionTask:
    """Cancel a queued or running task (`metrics` counts it among final states, once committed:
    the worker running it only sees its lease go). The task is locked while its state is checked:
    a worker recording its end meanwhile makes this a 409, not an overwrite."""
    task = await get_task(session, task_id, lock=True)
    _check_owner(task, actor, "cancel")
    status = TaskStatus(task.status)
    if status in TERMINAL_STATUSES:
        raise Conflict(
            f"task {task_id} is already {task.status}",
            "Only queued or running tasks can be cancelled.",
        )
    running = status in ACTIVE_STATUSES
    audit.record(session, actor.label, "cancel", task.id, {"was": status.value})
    task.lease_owner = None
    task.lease_expires_at = None
    task.finished_at = utcnow()
    add_event(
        task,
        TaskStatus.CANCELLED,
        "cancelled while running; the worker stops at its next step" if running else "cancelled",
    )
    if metrics is not None:
        after_commit(session, metrics.tasks.labels(TaskStatus.CANCELLED.value).inc)
    await session.flush()
    return task


async def rejected_rows(session: AsyncSession, task_id: str, actor: Principal = SYSTEM) -> str:
    """The storage key of a task's rejected rows CSV: raw values never loaded, for the task's
    uploader and admins only."""
    task = await get_task(session, task_id)
    if not access.may_read_rejected(task.created_by, actor):
        raise Forbidden(
            f"the rejected rows of task {task.id} are readable by its uploader and admins only",
            "Ask the uploader or an admin; the task's report says which checks failed.",
        )
    if not task.rows_rejected or not task.report or not task.report.get("rejected_rows_key"):
        raise NotFound(
            f"task {task_id} has no rejected rows",
            "Rejected rows exist once a task has finished validating and found invalid rows.",
        )
    return rejected_key(task.id)


async def queue_state(sessions: SessionMaker) -> tuple[int, float]:
    """Tasks waiting for a worker, and how long the oldest has waited (seconds; 0 when none)."""
    async with session_scope(sessions) as session:
        depth, oldest = (
            await session.execute(
                select(func.count(), func.min(IngestionTask.created_at)).where(
                    IngestionTask.status == TaskStatus.QUEUED.value
                )
            )
        ).one()
    if not depth or oldest is None:
        return 0, 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(depth), max(0.0, (utcnow() - oldest).total_seconds())

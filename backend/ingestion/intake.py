"""The one way an upload comes in, whichever door it uses (REST, GraphQL, `python -m backend
seed`): its bytes are read into storage up to the size limit while their format is recognised
from the first bytes, then recorded as a task by `backend.ingestion.acceptance` (or found to be a
duplicate of one), then answered.

Each door reads its own request (a multipart form, a GraphQL Upload, a file on disk) into an
async iterator of chunks and calls this module; nothing else stores an upload's bytes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend import filenames, threads
from backend.auth.limits import Limits
from backend.auth.principal import SYSTEM, Principal
from backend.db import SessionMaker
from backend.digits import ascii_count
from backend.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from backend.ingestion import acceptance, access, uploads
from backend.ingestion.acceptance import Accepted
from backend.ingestion.schemas import UploadAccepted, remedy_out
from backend.ingestion.uploads import StagedUpload
from backend.monitoring.metrics import Registry
from backend.pipeline.normalize import UploadOptions
from backend.pipeline.remedies import Door
from backend.pipeline.sniff import SNIFF_BYTES, FileFormat, UnrecognisedContent, sniff_format
from backend.pipeline.sources.base import DEFAULT_LIMITS
from backend.storage import ObjectStore, ObjectWriter
from backend.storage.space import SpaceGuard
from backend.tasks import repository
from backend.tasks.models import IngestionTask, TaskStatus
from backend.units import format_bytes

# While an upload streams in, free space is checked again after every this many bytes.
SPACE_CHECK_BYTES = 64 * 1024 * 1024
# Form fields and part headers around the file: allowed on top of the limit on the file.
FORM_OVERHEAD_BYTES = 65_536


@dataclass(frozen=True)
class Intake:
    """What an upload needs from the running service: where its bytes go and its bounds."""

    store: ObjectStore
    max_bytes: int
    space: SpaceGuard | None = None  # keeps the disk's reserve free
    limits: Limits | None = None  # uploads in flight per principal
    metrics: Registry | None = None  # counts the bytes of each upload accepted
    # MAX_COLUMN_NAME_CHARS: what a column may be renamed to when a preview is confirmed.
    column_name_chars: int = DEFAULT_LIMITS.column_name_chars

    def check_declared_size(self, content_length: str | None) -> None:
        """Refuse at once a request whose declared size cannot fit, or would not leave the
        disk's reserve free."""
        declared = ascii_count(content_length) or 0
        if declared > self.max_bytes + FORM_OVERHEAD_BYTES:
            raise too_large(self.max_bytes)
        if self.space is not None:
            self.space.check(declared)

    def in_flight(self, actor: Principal) -> contextlib.AbstractAsyncContextManager[None]:
        """One of `actor`'s upload slots, held while its bytes stream in."""
        if self.limits is None:
            return contextlib.nullcontext()
        return self.limits.upload(actor.id)

    async def stage(self, chunks: AsyncIterator[bytes], filename: str | None) -> StagedUpload:
        """Stream an upload into storage (under raw/<task id>/) while counting its size and
        sha256. Refuses, and deletes what was written, when it is empty, too large or not a
        supported format: the format is decided from the first bytes, before the rest is
        stored."""
        task_id = uuid.uuid4().hex
        name = filenames.storage_name(filename)
        writer = self.store.writer(f"raw/{task_id}/{name}")
        try:
            file_format = await self._stream_into(writer, chunks)
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
            store=self.store,
        )

    async def stage_copy(self, task: IngestionTask) -> StagedUpload:
        """`task`'s stored file as a new upload, copied inside the store (a hard link, or a
        server-side copy on S3): its bytes never pass through this process, and it is not
        bounded by MAX_UPLOAD_MB (it came in once already, maybe through an upload session).
        The bytes are the same, so are the size and sha256; a sha256 only declared, that no
        worker has checked yet (or that its check found false), stays a declared one, which the
        new task's worker checks. Raises FileNotFoundError when the file is no longer kept."""
        if self.space is not None:
            await threads.FILES.run(self.space.check)
        task_id = uuid.uuid4().hex
        key = f"raw/{task_id}/{filenames.storage_name(task.filename)}"
        await self.store.copy(task.storage_key, key)
        return StagedUpload(
            task_id=task_id,
            filename=task.filename,
            key=key,
            size=task.size_bytes,
            sha256=task.sha256,
            file_format=FileFormat(task.file_format),
            store=self.store,
            sha256_declared=repository.sha256_unverified(task),
        )

    async def _stream_into(self, writer: ObjectWriter, chunks: AsyncIterator[bytes]) -> FileFormat:
        head = bytearray()
        file_format: FileFormat | None = None
        checked = 0
        if self.space is not None:
            await threads.FILES.run(self.space.check)
        async for chunk in chunks:
            if writer.size + len(chunk) > self.max_bytes:
                raise too_large(self.max_bytes)
            if self.space is not None and writer.size - checked >= SPACE_CHECK_BYTES:
                checked = writer.size
                await threads.FILES.run(self.space.check)
            if file_format is None:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    file_format = sniff(bytes(head))
            await writer.write(chunk)
        if writer.size == 0:
            raise InvalidInput(
                "the uploaded file is empty", "Choose a file with a header row and data."
            )
        return file_format or sniff(bytes(head))

    async def accept(
        self,
        session: AsyncSession,
        staged: StagedUpload,
        datasource: str | None,
        *,
        force: bool = False,
        options: UploadOptions | None = None,
        actor: Principal = SYSTEM,
        dry_run: bool = False,
    ) -> Accepted:
        """Record a staged upload as a queued task, or find the task that has these bytes
        (`dry_run`: a preview, never a duplicate)."""
        return await acceptance.accept(
            session,
            staged,
            datasource,
            force=force,
            options=options,
            actor=actor,
            metrics=self.metrics,
            dry_run=dry_run,
        )

    async def upload(
        self,
        session: AsyncSession,
        chunks: AsyncIterator[bytes],
        filename: str | None,
        datasource: str,
        *,
        force: bool = False,
        options: UploadOptions | None = None,
        actor: Principal = SYSTEM,
        dry_run: bool = False,
    ) -> Accepted:
        """The whole flow for a door that has the datasource's name before the bytes: store
        them within one of the actor's slots, then record the task."""
        async with self.in_flight(actor):
            staged = await self.stage(chunks, filename)
        return await self.accept(
            session,
            staged,
            datasource,
            force=force,
            options=options,
            actor=actor,
            dry_run=dry_run,
        )


async def refuse_early(sessions: SessionMaker, datasource: str | None, actor: Principal) -> str:
    """The datasource's name, checked before any byte is stored: a name that is not valid, or a
    datasource the actor may not write to, fails at once."""
    name = uploads.validate_datasource_name(datasource)
    await access.refuse_early(sessions, name, actor)
    return name


def answer(accepted: Accepted, status_url: str, door: Door = Door.REST) -> UploadAccepted:
    """The upload's answer: the task, where to follow it, and whether it was a duplicate (with
    the remedy, and the message worded for `door`)."""
    task = accepted.task
    return UploadAccepted(
        task_id=task.id,
        status=TaskStatus(task.status),
        status_url=status_url,
        duplicate=not accepted.created,
        message=accepted.message(door),
        remedies=[remedy_out(r, door) for r in accepted.remedies],
        datasource=task.datasource,
        filename=task.filename,
        file_format=task.file_format,
        size_bytes=task.size_bytes,
        sha256=task.sha256,
    )


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is larger than the limit of {format_bytes(max_bytes)}",
        f"Split the file into parts under {format_bytes(max_bytes)}, or raise MAX_UPLOAD_MB on "
        "the server.",
    )


def sniff(head: bytes) -> FileFormat:
    """The file's format from its first bytes, or a 415 saying which formats are taken."""
    try:
        return sniff_format(head)
    except UnrecognisedContent as exc:
        raise UnsupportedMediaType(
            f"unsupported file content: the upload looks like {exc}",
            "Upload a CSV (or TSV) text file, an Excel workbook (.xlsx, .xls) or a Parquet file. "
            "The format is recognised from the file's bytes, not its name.",
        ) from exc

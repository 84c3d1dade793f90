"""The duplicate check of a task whose sha256 was declared, not computed (an upload session
completed on S3): the worker makes it once it has read the file and verified the hash, since
complete could not trust the hash. Found as at upload (acceptance.find_duplicate): the same
bytes, already loaded or being loaded into the same datasource by an earlier task."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import SessionMaker, session_scope
from backend.pipeline import remedies
from backend.pipeline.normalize import LoadMode, UploadOptions
from backend.pipeline.outcome import Failure
from backend.tasks import repository
from backend.tasks.models import IngestionTask


def wanted(task: IngestionTask) -> bool:
    """Whether the task is looked for as a duplicate: a declared sha256, neither a preview nor
    forced, appended."""
    options = UploadOptions.from_dict(task.options)
    return (
        bool(task.options.get("sha256_declared"))
        and not task.dry_run
        and not task.options.get("force")
        and options.mode is LoadMode.APPEND
    )


async def duplicate_failure(sessions: SessionMaker, task: IngestionTask) -> Failure | None:
    """The task's failure when an earlier task has its (verified) bytes; None otherwise."""
    if not wanted(task):
        return None
    async with session_scope(sessions) as session:
        earlier = await _earlier(session, task)
    if earlier is None:
        return None
    return Failure(
        "duplicate",
        f"these bytes were already uploaded to datasource {task.datasource!r} as task "
        f"{earlier.id} ({earlier.status}): this task loads nothing",
        "To load the same file again, reload this task with force=true "
        f"(POST /api/ingest/tasks/{task.id}/reload; rows whose unique key, such as a sales "
        "Invoice ID, is already loaded are refused), or upload it with mode=replace to replace "
        "the rows of its time interval.",
        [remedies.force()],
    )


async def _earlier(session: AsyncSession, task: IngestionTask) -> IngestionTask | None:
    sheet = _sheet(task.options.get("sheet"))
    # An earlier task whose declared sha256 no worker has verified yet proves nothing: the
    # lookup leaves it out (repository.sha256_unverified).
    for other in await repository.same_content(session, task.datasource, task.sha256):
        if (other.created_at, other.id) >= (task.created_at, task.id):
            continue  # this task, or a later one (which finds this one)
        if _sheet(other.options.get("sheet")) == sheet:
            return other
    return None


def _sheet(sheet: object) -> str:
    """A workbook's sheet as chosen: none is the first."""
    return str(sheet or "1").strip().casefold()

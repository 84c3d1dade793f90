"""Recording an upload as a task: the datasource's owner, contract and schema checks, the
duplicate lookup, and the new task (queued) with its audit entry.

Services flush; the caller's scope (request or worker) commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import SYSTEM, Principal
from backend.contracts.sales import SALES
from backend.contracts.schema import INFERRED
from backend.contracts.stored import known_schema
from backend.db import after_commit, on_rollback
from backend.errors import Conflict
from backend.ingestion import access
from backend.ingestion.uploads import StagedUpload, validate_datasource_name
from backend.monitoring import tracing
from backend.monitoring.metrics import Registry
from backend.pipeline import remedies
from backend.pipeline.normalize import LoadMode, UploadOptions, contract_detail, evolve_detail
from backend.pipeline.remedies import Door, Remedy
from backend.tasks import lifecycle, repository
from backend.tasks.models import IngestionTask
from backend.units import format_bytes

# Set on a session when it queued work, so its owner can wake the workers after commit.
WAKE_WORKERS = "wake_workers"


@dataclass(frozen=True)
class Accepted:
    task: IngestionTask
    created: bool  # False: the same bytes were already uploaded to this datasource

    def message(self, door: Door = Door.REST) -> str:
        """What happened, in words, for the upload's answer at `door`."""
        task = self.task
        if self.created and task.dry_run:
            return (
                f"queued as task {task.id}, a preview: the file is read and checked in full but "
                "nothing is loaded; follow its status until succeeded (its report then shows "
                "the preview) or failed"
            )
        if self.created:
            return f"queued as task {task.id}; follow its status until succeeded or failed"
        again = {
            Door.REST: "To load the same file again send force=true (rows whose unique key, "
            "such as a sales Invoice ID, is already loaded are refused), or mode=replace",
            Door.GRAPHQL: "To load the same file again send force: true (rows whose unique key, "
            "such as a sales Invoice ID, is already loaded are refused), or mode: REPLACE",
        }[door]
        return (
            f"these bytes were already uploaded to datasource {task.datasource!r} as task "
            f"{task.id} ({task.status}): nothing new was queued. {again} to replace the rows of "
            "its time interval with the file's (the same bytes are then loaded again)."
        )

    @property
    def remedies(self) -> list[Remedy]:
        """For a duplicate: loading it again anyway."""
        return [] if self.created else [remedies.force()]


async def accept(
    session: AsyncSession,
    staged: StagedUpload,
    datasource: str | None,
    *,
    force: bool = False,
    options: UploadOptions | None = None,
    actor: Principal = SYSTEM,
    metrics: Registry | None = None,
    dry_run: bool = False,
) -> Accepted:
    """Record a staged upload as a queued task, or return the task that already has these bytes
    (`metrics` counts the bytes of each one accepted, once recorded). A dry run (a preview)
    checks write access without claiming a new datasource, and is never a duplicate."""
    try:
        name = validate_datasource_name(datasource)
        await access.require_write(
            session, name, actor, "upload to it", claim_new=not dry_run, preview=dry_run
        )
        if options is not None and options.contract is not None:
            await require_contract(session, name, options.contract)
        if options is not None and options.evolve:
            await require_evolvable(session, name)
        await repository.lock_content(session, name, staged.sha256)
        chosen = options or UploadOptions()
        if (
            not force
            and not dry_run
            and not staged.sha256_declared  # its worker looks, once it has checked the hash
            and chosen.mode is LoadMode.APPEND
            and (existing := await find_duplicate(session, name, staged.sha256, chosen.sheet))
        ):
            await staged.discard()
            return Accepted(task=existing, created=False)
        task = _new_task(session, staged, name, force, chosen, actor)
        task.dry_run = dry_run
        on_rollback(session, staged.discard)  # a failed commit must not leave the bytes behind
        if metrics is not None:
            after_commit(session, lambda: metrics.upload_bytes.inc(staged.size))
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
            evolve_detail(contract),
        )


async def require_contract(session: AsyncSession, datasource: str, contract: str) -> None:
    """Refuses an upload that must pass `contract` to a datasource that has another one (the
    worker checks again: two first uploads may race)."""
    known = await known_schema(session, datasource)
    if known is not None and known.contract != contract:
        raise Conflict(
            f"datasource {datasource!r} has the {known.contract} contract; this upload must "
            f"pass the {contract} contract",
            contract_detail(contract),
        )


def _new_task(
    session: AsyncSession,
    staged: StagedUpload,
    datasource: str,
    force: bool,
    options: UploadOptions,
    actor: Principal,
) -> IngestionTask:
    detail = {"datasource": datasource, "filename": staged.filename, "bytes": staged.size}
    return lifecycle.create(
        session,
        f"upload received: {format_bytes(staged.size)}, {staged.file_format.value}",
        detail={"sha256": staged.sha256, "storage_key": staged.key},
        record=lifecycle.Audit(actor.label, "upload", detail),
        id=staged.task_id,
        datasource=datasource,
        filename=staged.filename,
        file_format=staged.file_format.value,
        size_bytes=staged.size,
        sha256=staged.sha256,
        storage_key=staged.key,
        options={"force": force, **options.as_dict(), **_declared(staged)},
        created_by=actor.id,
        created_by_user=actor.user,
        trace_context=tracing.carrier(),  # the worker continues the upload's trace
    )


def _declared(staged: StagedUpload) -> dict[str, bool]:
    """A declared sha256 not checked yet: the worker checks it (backend.worker.processing)."""
    return {"sha256_declared": True} if staged.sha256_declared else {}


async def find_duplicate(
    session: AsyncSession, datasource: str, sha256: str, sheet: str | None
) -> IngestionTask | None:
    """The task that loads (or will load) the same rows: the same bytes to the same datasource,
    of the same sheet for a workbook (another sheet holds other rows). A failed or cancelled
    upload does not block sending the same bytes again, nor does a task whose sha256 was only
    declared and is not checked yet (repository.same_content leaves it out)."""
    for task in await repository.same_content(session, datasource, sha256):
        if _sheet(task.options.get("sheet")) == _sheet(sheet):
            return task
    return None


def _sheet(sheet: str | None) -> str:
    """A workbook's sheet as chosen: none is the first."""
    return (sheet or "1").strip().casefold()

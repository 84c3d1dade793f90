"""Loading a task's file again with other options (a remedy taken: force, skip the invalid rows,
evolve the schema): a new task is queued from the stored upload, copied inside the store under
the new task's own folder, so the person who chose the file never sends it again.

Services flush; the caller's scope (request) commits.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.contracts.evolution import Evolve
from backend.errors import NotFound
from backend.ingestion import service
from backend.ingestion.acceptance import Accepted
from backend.ingestion.intake import Intake
from backend.pipeline.options import OnInvalid, UploadOptions
from backend.tasks.models import IngestionTask


@dataclasses.dataclass(frozen=True)
class Changes:
    """What the new task does differently from the first (None: as the first did)."""

    force: bool = False
    on_invalid: OnInvalid | None = None
    evolve: tuple[Evolve, ...] | None = None


async def reload(
    session: AsyncSession, intake: Intake, task_id: str, actor: Principal, changes: Changes
) -> Accepted:
    """Queue the file of `task_id` again with `changes`: the uploader or an admin may, with the
    right to upload to its datasource (checked again as for any upload)."""
    task = await service.get_task(session, task_id)
    service.check_owner(task, actor, "load again")
    try:
        async with intake.in_flight(actor):
            staged = await intake.stage_copy(task)
    except FileNotFoundError:
        raise NotFound(
            f"the file of task {task.id} is no longer kept",
            "Upload the file again from the Upload page.",
        ) from None
    return await intake.accept(
        session,
        staged,
        task.datasource,
        force=changes.force,
        options=_options(task, changes),
        actor=actor,
    )


def _options(task: IngestionTask, changes: Changes) -> UploadOptions:
    first = UploadOptions.from_dict(task.options)
    return dataclasses.replace(
        first,
        on_invalid=changes.on_invalid or first.on_invalid,
        evolve=first.evolve if changes.evolve is None else changes.evolve,
    )

"""The import kind: new files from an http(s) address or an S3 key/prefix go through exactly
the upload path (Intake.stage, then Intake.accept as the action's owner: the same size and
format checks, dedupe and report), each recorded as taken in the same transaction as its task,
so none is taken twice, whichever worker runs the action and however often it restarts.

A file refused for what it is (too large, not CSV/Excel/Parquet, empty) is recorded as taken
too, so it is not fetched again on every run, and fails the run with the upload's own words."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import threads
from backend.actions.kinds import Outcome, RunContext
from backend.actions.outbound.client import TooLarge
from backend.actions.sources import (
    Incoming,
    SourceError,
    latest_seen,
    record_seen,
    seen_tags,
    was_seen,
)
from backend.actions.sources import s3 as s3_source
from backend.actions.sources import url as url_source
from backend.auth.roles import Role
from backend.db import session_scope
from backend.errors import AppError, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from backend.ingestion import access, intake, uploads
from backend.ingestion.acceptance import Accepted
from backend.ingestion.models import DatasourceAccess
from backend.pipeline.normalize import UploadOptions
from backend.tasks.models import IngestionTask

log = logging.getLogger(__name__)

NOTHING_NEW = "Nothing new at the address."
# Refusals about the file itself: taking it again would be refused again.
FILE_REFUSALS = (PayloadTooLarge, UnsupportedMediaType, InvalidInput)


def sentence(text: str) -> str:
    """An error's words as a sentence: a capital first, a full stop last."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else f"{text}."


def app_error(exc: AppError, about: str | None = None) -> dict[str, str]:
    message = sentence(exc.message)
    return {
        "code": exc.code,
        "message": f"{about}: {message}" if about else message,
        "hint": exc.detail or "Change the file or the import's options, then run it again.",
    }


@dataclass
class Taken:
    """What the run took so far (with what earlier attempts of the run checkpointed)."""

    task_ids: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    note: str | None = None
    error: dict[str, str] | None = None

    @classmethod
    def resumed(cls, output: dict[str, Any]) -> Taken:
        return cls(
            task_ids=list(output.get("task_ids", [])),
            duplicates=list(output.get("duplicates", [])),
            refused=list(output.get("refused", [])),
        )

    def with_accepted(self, accepted: Accepted) -> Taken:
        task_id = accepted.task.id
        return Taken(
            self.task_ids + ([task_id] if accepted.created else []),
            self.duplicates + ([] if accepted.created else [task_id]),
            list(self.refused),
            self.note,
            self.error,
        )

    def output(self) -> dict[str, Any]:
        """`files`: the files taken (new tasks, and duplicates of tasks loaded before)."""
        taken: dict[str, Any] = {
            "files": len(self.task_ids) + len(self.duplicates),
            "task_ids": self.task_ids,
            "duplicates": self.duplicates,
            "refused": self.refused,
        }
        if self.note and not (self.task_ids or self.duplicates or self.refused):
            taken["note"] = self.note
        return taken

    def outcome(self) -> Outcome:
        if self.error is not None:
            return Outcome("failed", output=self.output(), error=self.error)
        return Outcome("succeeded", output=self.output())


async def execute(ctx: RunContext) -> Outcome:
    """Take the source's new files into the action's datasource, as its owner."""
    params = ctx.action.params
    taken = Taken.resumed(ctx.run.output)
    try:
        await _check_owner(ctx, str(params.get("datasource", "")))
        options = _options(params)
        if params.get("url"):
            await _from_url(ctx, options, taken)
        else:
            await _from_s3(ctx, options, taken)
    except SourceError as exc:
        taken.error = exc.as_error()
    except AppError as exc:
        taken.error = app_error(exc)
    return taken.outcome()


async def _check_owner(ctx: RunContext, datasource: str) -> None:
    """The owner must still be an uploader who may write the datasource (a datasource nobody
    has yet becomes the owner's with its first file, as a first upload's does)."""
    owner = ctx.owner
    if not owner.allows(Role.UPLOADER):
        raise SourceError(
            "owner_not_allowed",
            f"{owner.name} may no longer import files: importing needs the uploader role.",
            "Ask an admin to give the action's owner the uploader role, or delete the action.",
        )
    if owner.allows(Role.ADMIN):
        return
    async with session_scope(ctx.services.read_sessions) as session:
        row = await session.get(DatasourceAccess, uploads.validate_datasource_name(datasource))
    if row is not None and not access.may_write(access.Ownership.of(row), owner):
        raise access.refused(datasource, "import into it")


def _options(params: dict[str, Any]) -> UploadOptions:
    return uploads.upload_options(
        on_invalid=params.get("on_invalid"),
        max_invalid_ratio=params.get("max_invalid_ratio"),
        sheet=params.get("sheet"),
        time_column=params.get("time_column"),
        mode=params.get("mode"),
        evolve=params.get("evolve"),
    )


async def _from_url(ctx: RunContext, options: UploadOptions, taken: Taken) -> None:
    services, action = ctx.services, ctx.action
    address = str(action.params["url"])
    async with session_scope(services.read_sessions) as session:
        latest = await latest_seen(session, action.id, address)
    header = action.params.get("header") or {}
    headers = url_source.request_headers(header.get("name"), action.secret, latest)
    max_bytes = services.settings.max_upload_bytes
    async with url_source.fetch(services.outbound, address, headers, max_bytes) as fetched:
        taken.note = NOTHING_NEW
        if fetched.download is None or (
            fetched.tag is not None and await _seen(ctx, address, fetched.tag)
        ):
            return
        chunks = fetched.download.chunks()
        incoming = Incoming(address, fetched.tag or "", fetched.size, fetched.filename, chunks)
        await _take(ctx, incoming, options, taken)


async def _seen(ctx: RunContext, key: str, tag: str) -> bool:
    async with session_scope(ctx.services.read_sessions) as session:
        return await was_seen(session, ctx.action.id, key, tag)


async def _from_s3(ctx: RunContext, options: UploadOptions, taken: Taken) -> None:
    services, action = ctx.services, ctx.action
    settings = services.settings
    location = s3_source.parse(str(action.params.get("s3_uri", "")))
    s3_source.check_allowed(location, settings)
    client = await threads.STORAGE.run(s3_source.client_for, settings)
    async with session_scope(services.read_sessions) as session:
        seen = await seen_tags(session, action.id)
    limit = settings.actions_import_max_files
    found = await s3_source.new_objects(client, location, seen, limit)
    taken.note = f"No new objects at {location.uri()}."
    for item in found:
        name = item.key.rsplit("/", 1)[-1]
        chunks = s3_source.object_chunks(client, location, item)
        incoming = Incoming(location.uri(item.key), item.etag, item.size, name, chunks)
        if item.size > settings.max_upload_bytes:  # refused without reading it
            await chunks.aclose()
            await _refuse(ctx, incoming, intake.too_large(settings.max_upload_bytes), taken)
        else:
            await _take(ctx, incoming, options, taken)


async def _take(ctx: RunContext, incoming: Incoming, options: UploadOptions, taken: Taken) -> None:
    """One file through the upload path; its task, its source and its being taken are one
    transaction (a crash in between takes nothing: the stored bytes are deleted)."""
    services = ctx.services
    try:
        staged = await services.intake.stage(incoming.chunks, incoming.filename)
    except TooLarge:
        await _refuse(ctx, incoming, intake.too_large(services.intake.max_bytes), taken)
        return
    except FILE_REFUSALS as exc:
        await _refuse(ctx, incoming, exc, taken)
        return
    tag = incoming.tag or f"sha256:{staged.sha256}"
    file = Incoming(incoming.key, tag, staged.size, incoming.filename, incoming.chunks)
    try:
        async with ctx.transaction() as session:
            if not incoming.tag and await was_seen(session, ctx.action.id, file.key, tag):
                await staged.discard()
                return
            accepted = await services.intake.accept(
                session,
                staged,
                str(ctx.action.params["datasource"]),
                options=options,
                actor=ctx.owner,
            )
            record_seen(session, ctx.action.id, file, accepted.task.id, staged.size)
            if accepted.created:
                await _mark_source(session, accepted.task.id, ctx)
            progress = taken.with_accepted(accepted)
            await ctx.checkpoint(session, progress.output())
    except IntegrityError:  # another run of this action took the same file at the same time
        log.info("run %s: %s was taken by another run", ctx.run.id, incoming.filename)
        return
    taken.task_ids, taken.duplicates = progress.task_ids, progress.duplicates
    services.wake_workers()


async def _mark_source(session: AsyncSession, task_id: str, ctx: RunContext) -> None:
    """The task says which action and run made it."""
    await session.execute(
        sa.update(IngestionTask)
        .where(IngestionTask.id == task_id)
        .values(source_action_id=ctx.action.id, source_run_id=ctx.run.id)
    )


async def _refuse(ctx: RunContext, incoming: Incoming, exc: AppError, taken: Taken) -> None:
    """The file is refused for what it is: recorded as taken when its version is known (so it
    is not fetched again), named in the output, and the run fails with the upload's words."""
    reason = sentence(exc.message)
    refused = [*taken.refused, {"key": incoming.key, "reason": reason}]
    if incoming.tag:
        with contextlib.suppress(IntegrityError):  # another run refused it at the same time
            async with ctx.transaction() as session:
                record_seen(session, ctx.action.id, incoming, None, incoming.size or 0)
                await ctx.checkpoint(session, {**taken.output(), "refused": refused})
    taken.refused = refused
    if taken.error is None:
        taken.error = app_error(exc, incoming.filename)

"""Confirming a preview: a dry run's stored file queued again as a new task, with the changes a
person made after seeing it (types, date order, time column, columns renamed or dropped, the
datasource), checked against the preview's columns first. The file is not sent again.

Services flush; the caller's scope (request) commits.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.contracts.types import ColumnType
from backend.errors import Conflict, InvalidInput, NotFound
from backend.ingestion import service
from backend.ingestion.acceptance import Accepted
from backend.ingestion.intake import Intake
from backend.ingestion.preview_out import OverridesIn, PreviewConfirm
from backend.ingestion.uploads import upload_options, validate_datasource_name
from backend.known_fields import StrictBody
from backend.pipeline import reserved
from backend.pipeline.options import DateOrder, Overrides, UploadOptions
from backend.pipeline.sources.base import DEFAULT_LIMITS
from backend.tasks.models import IngestionTask, TaskStatus

_TYPES = ", ".join(t.value for t in ColumnType)
# Control characters, and the line and paragraph separators.
# Control, surrogate, line and paragraph separators, and format characters (zero-width,
# direction overrides: a name that looks like another, or reads backwards).
_CONTROL = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class OverridesBody(OverridesIn, StrictBody):
    """The overrides as REST takes them: a key it does not know is refused (422), not ignored."""


class ConfirmBody(PreviewConfirm, StrictBody):
    """POST /api/ingest/tasks/{id}/confirm's body: a key it does not know is refused (422)."""

    overrides: OverridesBody | None = None


async def confirm(
    session: AsyncSession, intake: Intake, task_id: str, actor: Principal, asked: PreviewConfirm
) -> Accepted:
    """Queue the file of the preview `task_id` with `asked`'s changes: its uploader or an admin
    may, with the right to upload to the datasource (checked again as for any upload)."""
    task = await service.get_task(session, task_id)
    service.check_owner(task, actor, "confirm")
    if not task.dry_run or task.status != TaskStatus.SUCCEEDED.value:
        raise Conflict(
            f"task {task.id} is not a finished preview: only a dry run that succeeded can be "
            "confirmed",
            "Upload the file with dry_run=true, wait until its task succeeded, then confirm it.",
        )
    options = options_for(task, asked, intake.column_name_chars)
    datasource = validate_datasource_name(asked.datasource_name or task.datasource)
    try:
        async with intake.in_flight(actor):
            staged = await intake.stage_copy(task)
    except FileNotFoundError:
        raise NotFound(
            f"the file of preview {task.id} is no longer kept",
            "Upload the file again (with dry_run=true to preview it first).",
        ) from None
    return await intake.accept(
        session,
        staged,
        datasource,
        force=asked.force,
        options=options,
        actor=actor,
        dry_run=asked.dry_run,
    )


def options_for(
    task: IngestionTask, asked: PreviewConfirm, name_chars: int = DEFAULT_LIMITS.column_name_chars
) -> UploadOptions:
    """The preview's options with the changes asked (checked: 422 in words)."""
    first = UploadOptions.from_dict(task.options)
    given = on_top(first.overrides, asked.overrides or OverridesIn())
    overrides = checked_overrides(given, _preview(task), name_chars)
    on_invalid = upload_options(on_invalid=asked.on_invalid).on_invalid
    return dataclasses.replace(
        first,
        overrides=overrides,
        time_column=given.time_column or first.time_column,
        on_invalid=on_invalid if asked.on_invalid else first.on_invalid,
    )


def on_top(earlier: Overrides, given: OverridesIn) -> OverridesIn:
    """The changes asked of a preview that had changes of its own ("preview again"), applied
    on top of them, so that confirming it loads what it showed: a date order given replaces,
    types and renames merge by column, drops add (a column dropped now loses its earlier type
    and new name)."""
    dropped = set(given.drop)
    types = {c: t for c, t in earlier.types if c not in dropped}
    rename = {c: n for c, n in earlier.rename if c not in dropped}
    return given.model_copy(
        update={
            "types": types | given.types,
            "date_order": given.date_order or _order_value(earlier.date_order),
            "rename": rename | given.rename,
            "drop": list(dict.fromkeys([*earlier.drop, *given.drop])),
        }
    )


def _order_value(order: DateOrder | None) -> str | None:
    return None if order is None else order.value


def _preview(task: IngestionTask) -> dict[str, Any]:
    return ((task.report or {}).get("preview")) or {}


def _known_columns(preview: dict[str, Any]) -> tuple[list[str], str | None]:
    """The file's columns as the preview knows them (its header names), and the header name of
    its time column."""
    columns = preview.get("columns") or []
    names = [str(c.get("source_name") or c.get("name")) for c in columns]
    earlier = preview.get("overrides") or {}
    names += [str(n) for n in earlier.get("drop") or () if n not in names]
    time = preview.get("time_column")
    source = next((str(c.get("source_name")) for c in columns if c.get("name") == time), time)
    return names, source


def checked_overrides(
    given: OverridesIn,
    preview: dict[str, Any],
    name_chars: int = DEFAULT_LIMITS.column_name_chars,
) -> Overrides:
    """`given`, checked against the preview's columns (new names within `name_chars`,
    MAX_COLUMN_NAME_CHARS): 422 saying what to change."""
    names, time_source = _known_columns(preview)
    _check_names([*given.types, *given.rename, *given.drop], names)
    for column, kind in given.types.items():
        if kind not in {t.value for t in ColumnType}:
            raise InvalidInput(
                f"the type {kind[:40]!r} asked for column {column!r} is not a column type",
                f"Send one of: {_TYPES} (overrides.types).",
            )
    _check_renames(given.rename, names, set(given.drop), name_chars)
    after = [given.rename.get(n, n) for n in names if n not in given.drop]
    time_column = given.time_column
    if time_column is not None and time_column not in after:
        raise InvalidInput(
            f"time_column {time_column!r} is not a column of the file once the overrides apply",
            f"Choose one of: {', '.join(repr(n) for n in after[:30])} (overrides.time_column).",
        )
    if time_source is not None and time_source in given.drop and time_column is None:
        raise InvalidInput(
            f"column {time_source!r} is the time column: it cannot be dropped",
            "Keep it, or choose another time column (overrides.time_column) in the same request.",
        )
    return Overrides(
        types=tuple(given.types.items()),
        date_order=_date_order(given.date_order),
        rename=tuple(given.rename.items()),
        drop=tuple(dict.fromkeys(given.drop)),
    )


def _check_names(asked: list[str], names: list[str]) -> None:
    unknown = [n for n in dict.fromkeys(asked) if n not in names]
    if unknown:
        raise InvalidInput(
            f"the overrides name {', '.join(repr(n[:80]) for n in unknown[:10])}, which the "
            "preview does not show as a column of the file",
            f"Name the file's columns as the preview's source_name gives them: "
            f"{', '.join(repr(n) for n in names[:30])}.",
        )


def _check_renames(rename: dict[str, str], names: list[str], dropped: set[str], limit: int) -> None:
    kept = {n.casefold() for n in names if n not in rename and n not in dropped}
    seen: set[str] = set()
    for old, new in rename.items():
        _check_new_name(old, new, limit)
        new_key = new.casefold()
        if new_key in kept or new_key in seen:
            raise InvalidInput(
                f"column {old!r} cannot be renamed {new!r}: another column has that name",
                "Choose a name no other column has, or drop or rename that column too.",
            )
        seen.add(new_key)


def _check_new_name(old: str, new: str, limit: int) -> None:
    """A new name is checked as a file's column names are: not empty, within
    MAX_COLUMN_NAME_CHARS, no spaces around it; and it may not hold a control character or a
    '/', nor be a name the service keeps for itself (such as __time)."""
    if not new.strip() or len(new) > limit or new != new.strip():
        raise InvalidInput(
            f"the new name of column {old!r} must have 1 to {limit} characters without "
            "spaces around them",
            "Send another name in overrides.rename.",
        )
    if "/" in new or any(unicodedata.category(c) in _CONTROL for c in new):
        raise InvalidInput(
            f"the new name of column {old!r} ({new[:80]!r}) holds a control or invisible "
            "character (such as a line break or a zero-width space) or a '/'",
            "Send a name of letters, digits, spaces and punctuation other than '/' in "
            "overrides.rename.",
        )
    if reserved.is_reserved(new):
        raise InvalidInput(
            f"column {old!r} cannot be renamed {new!r}: the service keeps that name for itself",
            "Choose another name in overrides.rename (a column becomes the time column through "
            "overrides.time_column).",
        )


def _date_order(value: str | None) -> DateOrder | None:
    if value is None:
        return None
    try:
        return DateOrder(value)
    except ValueError:
        raise InvalidInput(
            f"date_order must be month_first or day_first (got {value[:40]!r})",
            "month_first reads 1/5/2019 as January 5; day_first reads it as May 1.",
        ) from None

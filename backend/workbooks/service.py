"""Saving workbooks: create, read, change (from the version the edit started from), delete, and
their versions (open an older one, restore it as a new one). The doors call these; the rules are
in `rules`, the rows in `store`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.analytics.errors import UnknownDatasource
from backend.analytics.query_input import build_query
from backend.auth import users
from backend.auth.principal import Principal
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput, NotFound
from backend.monitoring import audit
from backend.paging import check_page
from backend.workbooks import notices, store
from backend.workbooks.documents import (
    Document,
    VersionDocumentOut,
    VersionOut,
    VersionPageOut,
    WorkbookIn,
    WorkbookOut,
    WorkbookPatch,
)
from backend.workbooks.models import Workbook, WorkbookVersion
from backend.workbooks.rules import require_editor, require_may_share, require_shares_fit

# The columns of a datasource and their types (Analytics.columns): what widget queries are
# checked against.
Columns = Callable[[str], Awaitable[dict[str, str]]]


async def check_document(document: Document, columns: Columns) -> None:
    """The datasource exists and every widget's query is one the analytics query model takes
    (the same checks as GraphQL's `analytics`, against the columns of the widget's datasource
    when it has data)."""
    known: dict[str, dict[str, str]] = {}

    async def columns_of(name: str, where: str) -> dict[str, str]:
        if name not in known:
            try:
                known[name] = await columns(name)
            except UnknownDatasource as exc:
                raise InvalidInput(f"{where}: {exc.message}", exc.detail) from exc
        return known[name]

    await columns_of(document.datasource, "the workbook's datasource")
    for number, widget in enumerate(document.widgets, start=1):
        where = f"widget {number} ({widget.title[:40] or widget.kind})"
        found = await columns_of(widget.query.datasource, where)
        if not found:  # declared, no data yet: its columns are checked once it has some
            continue
        try:
            build_query(widget.query, found)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}", exc.detail) from exc


async def _save(
    session: AsyncSession,
    columns: Columns,
    principal: Principal,
    row: Workbook,
    document: Document,
    *,
    before: Document | None,
    force: bool = False,
) -> list[str]:
    """`document` as the workbook's next version (its first when `before` is None); nothing
    when it changes nothing (unless `force`). The fields changed."""
    require_may_share(principal, document.visibility, document.shared_with)
    require_shares_fit(document.visibility, document.shared_with)
    await check_document(document, columns)
    # Only the handles this save adds: an edit that keeps a share with a user disabled since
    # still saves.
    kept = set(before.shared_with) if before else set()
    await users.require_enabled(session, set(document.shared_with) - kept)
    changed = document.changes_from(before) if before else ["created"]
    if not changed and not force:
        return changed
    row.version = row.version + 1 if before else 1
    row.updated_at = utcnow()
    await store.write(session, row, document)
    session.add(
        WorkbookVersion(
            workbook_id=row.id,
            version=row.version,
            author=principal.name,
            changed=changed,
            document=document.model_dump(mode="json"),
            created_at=row.updated_at,
        )
    )
    await notices.saved(session, principal, row, before, document, changed)
    return changed


async def create(
    session: AsyncSession, columns: Columns, principal: Principal, data: WorkbookIn
) -> WorkbookOut:
    document = Document.model_validate(data.model_dump(exclude_none=True))
    now = utcnow()
    row = Workbook(id=uuid.uuid4().hex, owner=principal.name, created_at=now, version=0)
    await _save(session, columns, principal, row, document, before=None)
    audit.record(session, principal.label, "create_workbook", row.id, {"title": row.title})
    return (await store.answers(session, [row], principal))[0]


async def get(session: AsyncSession, principal: Principal, workbook_id: str) -> WorkbookOut:
    row = await store.visible(session, principal, workbook_id)
    return (await store.answers(session, [row], principal))[0]


async def changed_since(session: AsyncSession, workbook_id: str, version: int) -> list[str]:
    """The fields any save after `version` changed."""
    rows = await session.execute(
        select(WorkbookVersion.changed).where(
            WorkbookVersion.workbook_id == workbook_id, WorkbookVersion.version > version
        )
    )
    return sorted({field for (changed,) in rows for field in changed})


async def update(
    session: AsyncSession,
    columns: Columns,
    principal: Principal,
    workbook_id: str,
    patch: WorkbookPatch,
) -> WorkbookOut:
    """Changes the fields `patch` names, when it starts from the current version; else a
    conflict that says which fields changed since (never a silent overwrite)."""
    row = await store.visible(session, principal, workbook_id, hold="change")
    require_editor(principal, row)
    if patch.version != row.version:
        changed = await changed_since(session, row.id, patch.version)
        raise Conflict(
            f"the workbook is at version {row.version}, not {patch.version}"
            + (f"; since then {', '.join(changed)} changed" if changed else ""),
            "Read it again, apply your edit to the current version and send that version.",
        )
    before = await store.document_of(session, row)
    edits: dict[str, Any] = {
        name: getattr(patch, name) for name in patch.model_fields_set if name != "version"
    }
    after = Document.model_validate({**before.model_dump(), **_dumped(edits)})
    if after.visibility != "users" and "shared_with" not in edits:
        after.shared_with = []  # no longer shared with named users: their names go too
    changed = await _save(session, columns, principal, row, after, before=before)
    if changed:
        audit.record(session, principal.label, "update_workbook", row.id, {"changed": changed})
    return (await store.answers(session, [row], principal))[0]


def _dumped(edits: dict[str, Any]) -> dict[str, Any]:
    """Nulls mean "unchanged"; models become plain values."""
    return {
        name: [v.model_dump() if hasattr(v, "model_dump") else v for v in value]
        if isinstance(value, list)
        else value
        for name, value in edits.items()
        if value is not None
    }


async def delete(session: AsyncSession, principal: Principal, workbook_id: str) -> None:
    row = await store.visible(session, principal, workbook_id, hold="delete")
    require_editor(principal, row)
    await store.unindex(session, row.id)
    await session.delete(row)
    audit.record(session, principal.label, "delete_workbook", workbook_id, {"title": row.title})


async def versions(
    session: AsyncSession, principal: Principal, workbook_id: str, limit: int, offset: int
) -> VersionPageOut:
    """The workbook's saves, newest first."""
    check_page(limit, offset, 200)
    row = await store.visible(session, principal, workbook_id)
    where = WorkbookVersion.workbook_id == row.id
    total = (await session.execute(select(func.count()).where(where))).scalar_one()
    found = await session.execute(
        select(WorkbookVersion)
        .where(where)
        .order_by(WorkbookVersion.version.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        VersionOut(version=v.version, author=v.author, created_at=v.created_at, changed=v.changed)
        for v in found.scalars()
    ]
    more = offset + len(items) < total
    return VersionPageOut(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + len(items) if more else None,
    )


async def version(
    session: AsyncSession, principal: Principal, workbook_id: str, number: int
) -> VersionDocumentOut:
    row = await store.visible(session, principal, workbook_id)
    found = await session.get(WorkbookVersion, (row.id, number))
    if found is None:
        raise NotFound(
            f"the workbook has no version {number} (it is at version {row.version})",
            "List its versions with GET /api/workbooks/{id}/versions.",
        )
    return VersionDocumentOut(
        version=found.version,
        author=found.author,
        created_at=found.created_at,
        changed=found.changed,
        document=Document.model_validate(found.document),
    )


async def restore(
    session: AsyncSession, columns: Columns, principal: Principal, workbook_id: str, number: int
) -> WorkbookOut:
    """Version `number`'s document saved again, as a new version."""
    old = await version(session, principal, workbook_id, number)
    row = await store.visible(session, principal, workbook_id, hold="change")
    require_editor(principal, row)
    before = await store.document_of(session, row)
    document = old.document
    if document.visibility != "users":  # a version saved before shares needed "users"
        document = document.model_copy(update={"shared_with": []})
    await _save(session, columns, principal, row, document, before=before, force=True)
    audit.record(session, principal.label, "restore_workbook", row.id, {"version": number})
    return (await store.answers(session, [row], principal))[0]

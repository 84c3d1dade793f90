"""Workbooks leaving and joining: a copy of one the caller may see ("save a copy"), the export
of one as a JSON document that imports on another installation, and that import.

An import whose datasource this installation does not have still succeeds: the workbook keeps
the name, and the answer's warnings say which widgets show no data until a datasource of that
name is uploaded (its widgets are checked against the columns once it has data, as a declared
datasource's are)."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.analytics.errors import UnknownDatasource
from backend.auth.principal import Principal
from backend.errors import InvalidInput
from backend.workbooks import service, store
from backend.workbooks.documents import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    Document,
    ExportOut,
    ImportIn,
    ImportOut,
    PortableIn,
    PortableWorkbook,
    WorkbookIn,
    WorkbookOut,
    one_line,
)
from backend.workbooks.service import Columns

_PORTABLE = ("title", "description", "datasource", "filters", "widgets", "tags")


async def _document(session: AsyncSession, principal: Principal, workbook_id: str) -> Document:
    """The document of a workbook the caller may see (else NotFound)."""
    return await store.document_of(session, await store.visible(session, principal, workbook_id))


async def copy(
    session: AsyncSession,
    columns: Columns,
    principal: Principal,
    workbook_id: str,
    title: str | None = None,
) -> WorkbookOut:
    """A private copy, owned by the caller, of a workbook they may see: its first version."""
    original = await _document(session, principal, workbook_id)
    fields = original.model_dump(include=set(_PORTABLE))
    fields["title"] = title or f"{one_line(original.title)[:193]} (copy)"
    data = WorkbookIn.model_validate(fields)
    return await service.create(session, _lenient(columns, set()), principal, data)


async def export(session: AsyncSession, principal: Principal, workbook_id: str) -> ExportOut:
    original = await _document(session, principal, workbook_id)
    portable = PortableWorkbook.model_validate(original.model_dump(include=set(_PORTABLE)))
    return ExportOut(workbook=portable)


def read_export(body: ImportIn) -> PortableIn:
    """The workbook of an export in a format and version this installation reads."""
    if body.format != EXPORT_FORMAT:
        raise InvalidInput(
            f"this is not a workbook export: its format is {body.format[:60]!r}, not "
            f"{EXPORT_FORMAT!r}",
            "Send the document GET /api/workbooks/{id}/export answers.",
        )
    if body.version != EXPORT_VERSION:
        raise InvalidInput(
            f"this installation reads version {EXPORT_VERSION} of workbook exports, not "
            f"version {body.version}",
            "Export the workbook again from an installation of the same release.",
        )
    try:
        return PortableIn.model_validate(body.workbook)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10]
        )
        raise InvalidInput("The exported workbook is not valid.", problems) from exc


async def import_(
    session: AsyncSession, columns: Columns, principal: Principal, body: ImportIn
) -> ImportOut:
    """A private workbook owned by the caller from an export; warnings name what is missing."""
    portable = read_export(body)
    missing: set[str] = set()
    data = WorkbookIn.model_validate(portable.model_dump(include=set(_PORTABLE)))
    created = await service.create(session, _lenient(columns, missing), principal, data)
    return ImportOut(workbook=created, warnings=_warnings(created, missing))


def _lenient(columns: Columns, missing: set[str]) -> Columns:
    """`columns`, but a datasource this installation does not have is taken as one without data
    (its widgets are checked once it has some); its name is added to `missing`."""

    async def known_or_empty(name: str) -> dict[str, str]:
        try:
            return await columns(name)
        except UnknownDatasource:
            missing.add(name)
            return {}

    return known_or_empty


def _warnings(workbook: WorkbookOut, missing: set[str]) -> list[str]:
    warnings = [
        f"This installation has no datasource {workbook.datasource!r} yet: upload one of that "
        "name for the workbook to show data."
    ] * (workbook.datasource in missing)
    warnings += [
        f"Widget {number} ({widget.title[:40] or widget.kind}) reads datasource "
        f"{widget.query.datasource!r}, which this installation does not have yet; it shows no "
        "data until one of that name is uploaded."
        for number, widget in enumerate(workbook.widgets, start=1)
        if widget.query.datasource in missing
    ]
    return warnings

"""GraphQL: workbooks, with the same rules and functions as REST (backend.workbooks); the types
are derived from backend.workbooks.documents. A document (and an edit) is given as JSON in the
REST body's shape and checked by the same models."""

from __future__ import annotations

import re
from typing import Any, TypeVar, cast

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.experimental import pydantic
from strawberry.scalars import JSON

from backend.db import session_scope
from backend.errors import InvalidInput
from backend.schema.context import Info
from backend.schema.permissions import IsViewer
from backend.workbooks import documents, listing, service, starter, transfer
from backend.workbooks.listing import Criteria, Sort
from backend.workbooks.rules import not_found

Model = TypeVar("Model", bound=BaseModel)
_ID = re.compile(r"[0-9a-f]{32}")


@pydantic.type(model=documents.WorkbookOut, all_fields=True, description="A saved dashboard")
class Workbook:
    id: strawberry.ID
    visibility: str  # private, shared or users
    filters: JSON
    widgets: JSON = strawberry.field(description="kind, title, query, size, in order")


@pydantic.type(model=documents.WorkbookPageOut, all_fields=True)
class WorkbookPage:
    items: list[Workbook]


@pydantic.type(model=documents.VersionOut, all_fields=True, description="One save")
class WorkbookVersion:
    pass


@pydantic.type(model=documents.VersionDocumentOut, all_fields=False)
class WorkbookVersionDocument:
    version: strawberry.auto
    author: strawberry.auto
    created_at: strawberry.auto
    changed: strawberry.auto
    document: JSON


@pydantic.type(model=documents.FeedOut, all_fields=True)
class WorkbookFeed:
    recent: list[Workbook]
    favorites: list[Workbook]
    popular: list[Workbook]
    shared_with_me: list[Workbook]


@pydantic.type(model=documents.TagOut, all_fields=True)
class WorkbookTag:
    pass


@pydantic.type(model=documents.ViewOut, all_fields=True)
class WorkbookView:
    pass


@strawberry.type(description="An imported workbook, and what this installation lacks for it")
class ImportedWorkbook:
    workbook: Workbook
    warnings: list[str] = strawberry.field(
        description="widgets whose datasource this installation does not have yet"
    )


def _checked(model: type[Model], value: JSON) -> Model:
    """`value` read by the REST body's model, its problems as one sentence."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10]
        )
        raise InvalidInput("The workbook is not valid", problems) from exc


def _id(value: strawberry.ID) -> str:
    """A workbook's id (32 hex digits); anything else names no workbook."""
    text = str(value)
    if not _ID.fullmatch(text):
        raise not_found(text[:40].replace("\x00", ""))
    return text


def _one(found: documents.WorkbookOut) -> Workbook:
    """The workbook, its widgets as JSON."""
    workbook = Workbook.from_pydantic(found)
    workbook.widgets = cast(JSON, [w.model_dump(mode="json") for w in found.widgets])
    return workbook


def _many(found: list[documents.WorkbookOut]) -> list[Workbook]:
    return [_one(w) for w in found]


@strawberry.type
class WorkbookQuery:
    @strawberry.field(permission_classes=[IsViewer], description="The workbooks you may see")
    async def workbooks(  # noqa: PLR0913, PLR0917 (the REST list's filters)
        self,
        info: Info,
        tags: list[str] | None = None,
        author: str | None = None,
        q: str | None = None,
        favorites: bool = False,
        datasource: str | None = None,
        sort: str = "recent",
        limit: int = 50,
        offset: int = 0,
    ) -> WorkbookPage:
        if sort not in ("recent", "popular", "title") or len(tags or []) > documents.MAX_TAGS:
            raise InvalidInput(
                "sort is recent, popular or title, and at most 20 tags filter",
                "Change the arguments.",
            )
        texts = [q or "", author or "", datasource or "", *(tags or [])]
        if len(q or "") > 200 or len(author or "") > 128 or len(datasource or "") > 64:
            raise InvalidInput("q, author or datasource is too long", "Send shorter text.")
        if any("\x00" in text for text in texts):
            raise InvalidInput("an argument holds the NUL character", "Send printable text.")
        chosen: Sort = sort  # type: ignore[assignment]
        criteria = Criteria(tuple(tags or ()), author, q, favorites, datasource, chosen)
        async with session_scope(info.context.runtime.reading()) as session:
            page = await listing.page(session, info.context.principal, criteria, limit, offset)
        listed = page.model_dump(exclude={"items"})
        return WorkbookPage(items=_many(page.items), **listed)

    @strawberry.field(permission_classes=[IsViewer], description="One workbook")
    async def workbook(self, info: Info, id: strawberry.ID) -> Workbook:
        async with session_scope(info.context.runtime.reading()) as session:
            return _one(await service.get(session, info.context.principal, _id(id)))

    @strawberry.field(permission_classes=[IsViewer], description="A workbook's saves")
    async def workbook_versions(
        self, info: Info, id: strawberry.ID, limit: int = 50, offset: int = 0
    ) -> list[WorkbookVersion]:
        async with session_scope(info.context.runtime.reading()) as session:
            page = await service.versions(session, info.context.principal, _id(id), limit, offset)
        return [WorkbookVersion.from_pydantic(v) for v in page.items]

    @strawberry.field(permission_classes=[IsViewer], description="One version, its document")
    async def workbook_version(
        self, info: Info, id: strawberry.ID, version: int
    ) -> WorkbookVersionDocument:
        async with session_scope(info.context.runtime.reading()) as session:
            found = await service.version(session, info.context.principal, _id(id), version)
        return WorkbookVersionDocument(
            **found.model_dump(exclude={"document"}),
            document=found.document.model_dump(mode="json"),
        )

    @strawberry.field(permission_classes=[IsViewer], description="Your home feed")
    async def workbook_feed(self, info: Info) -> WorkbookFeed:
        async with session_scope(info.context.runtime.reading()) as session:
            feed = await listing.feed(session, info.context.principal)
        return WorkbookFeed(
            recent=_many(feed.recent),
            favorites=_many(feed.favorites),
            popular=_many(feed.popular),
            shared_with_me=_many(feed.shared_with_me),
        )

    @strawberry.field(
        permission_classes=[IsViewer],
        description="The default sales dashboard over a datasource, as an unsaved workbook "
        "document (give it to createWorkbook to save a copy)",
    )
    async def starter_workbook(self, info: Info, datasource: str = "sales") -> JSON:
        found = await info.context.runtime.analytics.columns(datasource[:64])
        starter.require_sales_columns(datasource, found)
        return cast(JSON, starter.document(datasource).model_dump(mode="json"))

    @strawberry.field(
        permission_classes=[IsViewer],
        description="A workbook as the JSON document that imports on another installation",
    )
    async def export_workbook(self, info: Info, id: strawberry.ID) -> JSON:
        async with session_scope(info.context.runtime.reading()) as session:
            found = await transfer.export(session, info.context.principal, _id(id))
        return cast(JSON, found.model_dump(mode="json"))

    @strawberry.field(permission_classes=[IsViewer], description="The most used tags")
    async def workbook_tags(self, info: Info, limit: int = 20) -> list[WorkbookTag]:
        async with session_scope(info.context.runtime.reading()) as session:
            found = await listing.tags(session, info.context.principal, limit)
        return [WorkbookTag.from_pydantic(t) for t in found]


@strawberry.type
class WorkbookMutation:
    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="Save a workbook: the REST body (title, datasource, ...); sharing it needs "
        "the uploader role",
    )
    async def create_workbook(self, info: Info, workbook: JSON) -> Workbook:
        data = _checked(documents.WorkbookIn, workbook)
        context = info.context
        columns = context.runtime.analytics.columns
        return _one(await service.create(context.session, columns, context.principal, data))

    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="Change a workbook from `version` (in the edit); its owner or an admin",
    )
    async def update_workbook(self, info: Info, id: strawberry.ID, edit: JSON) -> Workbook:
        patch = _checked(documents.WorkbookPatch, edit)
        context = info.context
        columns = context.runtime.analytics.columns
        found = await service.update(context.session, columns, context.principal, _id(id), patch)
        return _one(found)

    @strawberry.mutation(permission_classes=[IsViewer], description="Delete a workbook")
    async def delete_workbook(self, info: Info, id: strawberry.ID) -> bool:
        await service.delete(info.context.session, info.context.principal, _id(id))
        return True

    @strawberry.mutation(permission_classes=[IsViewer], description="Restore an older version")
    async def restore_workbook_version(
        self, info: Info, id: strawberry.ID, version: int
    ) -> Workbook:
        context = info.context
        found = await service.restore(
            context.session,
            context.runtime.analytics.columns,
            context.principal,
            _id(id),
            version,
        )
        return _one(found)

    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="Save a private copy of a workbook you may see, as your own",
    )
    async def copy_workbook(
        self, info: Info, id: strawberry.ID, title: str | None = None
    ) -> Workbook:
        given = _checked(documents.CopyIn, cast(JSON, {"title": title}))
        context = info.context
        columns = context.runtime.analytics.columns
        found = await transfer.copy(
            context.session, columns, context.principal, _id(id), given.title
        )
        return _one(found)

    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="Import an exported workbook (exportWorkbook's document) as a private "
        "workbook of your own",
    )
    async def import_workbook(self, info: Info, document: JSON) -> ImportedWorkbook:
        given = _checked(documents.ImportIn, document)
        context = info.context
        columns = context.runtime.analytics.columns
        found = await transfer.import_(context.session, columns, context.principal, given)
        return ImportedWorkbook(workbook=_one(found.workbook), warnings=found.warnings)

    @strawberry.mutation(permission_classes=[IsViewer], description="Favorite it, or not")
    async def favorite_workbook(
        self, info: Info, id: strawberry.ID, favorite: bool = True
    ) -> Workbook:
        context = info.context
        return _one(await listing.favorite(context.session, context.principal, _id(id), favorite))

    @strawberry.mutation(permission_classes=[IsViewer], description="Count a view")
    async def view_workbook(self, info: Info, id: strawberry.ID) -> WorkbookView:
        context = info.context
        return WorkbookView.from_pydantic(
            await listing.view(context.session, context.principal, _id(id))
        )


__all__: list[Any] = ["WorkbookMutation", "WorkbookQuery"]

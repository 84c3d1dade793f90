"""What a client sends and reads: a workbook's document (bounded on every field), its views,
versions and pages. One definition for REST (and for GraphQL's types, derived from these)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.analytics.query import Aggregate, FilterKind, Granularity
from backend.auth.schemas import PublicUserOut

MAX_WIDGETS = 50
MAX_TAGS = 20
MAX_SHARED = 100
MAX_FILTERS = 50
PROFILE_WORKBOOKS = 20  # the workbooks a public profile lists
TAG_PATTERN = r"^[a-z0-9-]{1,40}$"


def _no_control(value: str) -> str:
    """A title is one line of text: no line breaks, tabs or other control characters."""
    if "\x00" in value:  # said as for any other text of a workbook
        raise ValueError("Text in a workbook may not contain the NUL character.")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("A title may not contain line breaks, tabs or other control characters.")
    return value


def _visible(value: str) -> str:
    """A title shows something: not only spaces (nor invisible formatting characters)."""
    if not any(unicodedata.category(c)[0] not in "ZC" for c in value):
        raise ValueError("A title needs at least one visible character.")
    return value


def one_line(value: str) -> str:
    """`value` with each control character (a line break, a tab) as a space: a title saved
    before titles were checked, made one a save takes."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in value)


TITLE = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(_no_control), AfterValidator(_visible)
]
HANDLE = Annotated[str, Field(min_length=1, max_length=128)]
DATASOURCE = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
COLUMN = Annotated[str, Field(min_length=1, max_length=128)]
Visibility = Literal["private", "shared", "users"]
WidgetKind = Literal[
    "kpi", "trend", "breakdown", "table", "heatmap", "rating_distribution", "top_n",
    "profitability",
]  # fmt: skip
FilterValue = (
    Annotated[str, Field(max_length=500)]
    | int
    | float
    | bool
    | None
    | Annotated[list[Annotated[str, Field(max_length=200)] | None], Field(max_length=100)]
)
_DOCUMENT_FIELDS = (
    "title", "description", "datasource", "filters", "widgets", "tags", "visibility",
    "shared_with",
)  # fmt: skip


class MeasureIn(BaseModel):
    aggregate: Aggregate
    column: COLUMN | None = None
    alias: Annotated[str, Field(max_length=128)] | None = None


class FilterIn(BaseModel):
    kind: FilterKind
    column: COLUMN
    values: list[Annotated[str, Field(max_length=200)] | None] = Field(max_length=1000)


class OrderIn(BaseModel):
    name: COLUMN
    descending: bool = False


class WidgetQuery(BaseModel):
    """The analytics query model's input, as GraphQL's `analytics` takes it; checked against the
    datasource's columns by the same code when the workbook is saved."""

    datasource: DATASOURCE
    measures: list[MeasureIn] = Field(max_length=50)
    dimensions: list[COLUMN] | None = Field(default=None, max_length=20)
    granularity: Granularity | None = None
    filters: list[FilterIn] | None = Field(default=None, max_length=50)
    order: list[OrderIn] | None = Field(default=None, max_length=20)
    limit: int | None = Field(default=1000, ge=1, le=100_000)
    offset: int = Field(default=0, ge=0, le=1_000_000_000)


class WidgetSize(BaseModel):
    width: int = Field(default=6, ge=1, le=12, description="grid columns, of 12")
    height: int = Field(default=4, ge=1, le=12, description="grid rows")


class Widget(BaseModel):
    kind: WidgetKind
    title: Annotated[str, Field(max_length=200)] = ""
    query: WidgetQuery
    size: WidgetSize = Field(default_factory=WidgetSize)


def _check_filters(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(value) > MAX_FILTERS:
        raise ValueError(f"A workbook holds at most {MAX_FILTERS} filters.")
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class WorkbookFields(BaseModel):
    """The document's fields, each optional (a PATCH changes what it names)."""

    model_config = ConfigDict(extra="forbid")

    title: TITLE | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    datasource: DATASOURCE | None = None
    filters: dict[Annotated[str, Field(min_length=1, max_length=64)], FilterValue] | None = None
    widgets: list[Widget] | None = Field(default=None, max_length=MAX_WIDGETS)
    tags: list[Annotated[str, Field(pattern=TAG_PATTERN)]] | None = Field(
        default=None, max_length=MAX_TAGS, description="lower-case letters, digits and dashes"
    )
    visibility: Visibility | None = None
    shared_with: list[HANDLE] | None = Field(
        default=None, max_length=MAX_SHARED, description="handles, for visibility `users`"
    )

    _filters = field_validator("filters")(_check_filters)

    @model_validator(mode="after")
    def _no_nul(self) -> WorkbookFields:
        """PostgreSQL's text holds no NUL character; neither does a workbook, on any backend."""
        if _has_nul(self.model_dump()):
            raise ValueError("Text in a workbook may not contain the NUL character.")
        return self


class WorkbookIn(WorkbookFields):
    title: TITLE
    datasource: DATASOURCE


class WorkbookPatch(WorkbookFields):
    version: int = Field(ge=1, description="the version this edit starts from")


class Document(BaseModel):
    """A workbook's whole document, as a version keeps it."""

    title: str
    description: str = ""
    datasource: str
    filters: dict[str, Any] = Field(default_factory=dict)
    widgets: list[Widget] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    visibility: Visibility = "private"
    shared_with: list[str] = Field(default_factory=list)

    def changes_from(self, other: Document) -> list[str]:
        """The fields whose value differs from `other`'s."""
        return [f for f in _DOCUMENT_FIELDS if getattr(self, f) != getattr(other, f)]


class WorkbookOut(Document):
    id: str
    owner: str = Field(description="the owner's handle")
    owner_display_name: str = Field(
        description="the owner's display name (their handle when no user has it)"
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    views: int = Field(description="views counted (at most one per person per minute)")
    favorites: int
    favorited: bool = Field(description="whether the caller favorited it")


class WorkbookPageOut(BaseModel):
    items: list[WorkbookOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class VersionOut(BaseModel):
    version: int
    author: str
    created_at: dt.datetime
    changed: list[str] = Field(description="the fields this save changed")


class VersionDocumentOut(VersionOut):
    document: Document


class VersionPageOut(BaseModel):
    items: list[VersionOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class ViewOut(BaseModel):
    counted: bool = Field(description="false within a minute of this person's last view")
    views: int


class FeedOut(BaseModel):
    recent: list[WorkbookOut] = Field(description="my workbooks, last changed first")
    favorites: list[WorkbookOut]
    popular: list[WorkbookOut] = Field(description="most viewed over the last 30 days")
    shared_with_me: list[WorkbookOut] = Field(description="others' workbooks I may see, newest")


class TagOut(BaseModel):
    name: str
    count: int = Field(description="workbooks the caller may see that carry it")


class WorkbookSummaryOut(BaseModel):
    """A workbook as a profile lists it."""

    id: str
    title: str
    updated_at: dt.datetime


class PublicProfileOut(PublicUserOut):
    """A user's public profile and their workbooks the caller may see (never another person's
    private ones), the most recently changed first."""

    workbooks: list[WorkbookSummaryOut] = Field(
        description=f"the {PROFILE_WORKBOOKS} most recently changed; GET /api/workbooks?author= "
        "lists them all"
    )
    workbook_count: int = Field(description="how many of their workbooks the caller may see")


EXPORT_FORMAT = "sales-ingest.workbook"
EXPORT_VERSION = 1


class PortableWorkbook(BaseModel):
    """A workbook as it travels between installations: no id, owner, shares or visibility; the
    datasource named, not embedded."""

    title: str
    description: str = ""
    datasource: str
    filters: dict[str, Any] = Field(default_factory=dict)
    widgets: list[Widget] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class ExportOut(BaseModel):
    format: str = Field(default=EXPORT_FORMAT, description=f"always {EXPORT_FORMAT!r}")
    version: int = Field(default=EXPORT_VERSION, description="the export format's version")
    workbook: PortableWorkbook


class PortableIn(WorkbookFields):
    """An exported workbook, bounded as a saved one is; it is imported private."""

    title: TITLE
    datasource: DATASOURCE

    @model_validator(mode="after")
    def _not_shared(self) -> PortableIn:
        if self.visibility not in (None, "private") or self.shared_with:
            raise ValueError(
                "An imported workbook is private: leave out visibility and shared_with, and "
                "share it once imported."
            )
        return self


class ImportIn(BaseModel):
    """What GET /api/workbooks/{id}/export answers."""

    model_config = ConfigDict(extra="forbid")

    format: Annotated[str, Field(max_length=100)]
    version: int
    workbook: dict[str, Any] = Field(description="read once format and version are known")


class ImportOut(BaseModel):
    workbook: WorkbookOut
    warnings: list[str] = Field(
        description="widgets (or the workbook) whose datasource this installation does not have "
        "yet: they show no data until one of that name is uploaded"
    )


class CopyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: TITLE | None = Field(
        default=None, description="the copy's title; the original's with (copy) when left out"
    )

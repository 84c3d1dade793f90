"""The preview of a dry run as clients see it (REST's report.preview; GraphQL derives its types
from these models): the schema that would be used, the first rows, the time column."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PreviewColumnOut(BaseModel):
    name: str = Field(description="the column as it would be stored")
    source_name: str = Field(description="the column as the file's header names it")
    type: str = Field(description="string, integer, float, boolean, date, time or datetime")
    nullable: bool = Field(description="the column may be empty")
    nulls: int = Field(default=0, description="empty values in the rows that would be loaded")
    samples: list[str] = Field(description="up to 5 distinct values among the first rows, as text")
    distinct_estimate: int = Field(description="about how many distinct values the column has")
    rule: str | None = Field(description="what the datasource's contract checks on it, in words")


class PreviewOverridesOut(BaseModel):
    types: dict[str, str] = Field(default_factory=dict)
    date_order: str | None = None
    rename: dict[str, str] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)


class PreviewOut(BaseModel):
    columns: list[PreviewColumnOut]
    rows: list[list[str | None]] = Field(
        description="the first rows as they would be stored, as text (null: empty): 50, or fewer "
        "with shorter values for a wide file (the preview keeps to about 200,000 characters)"
    )
    time_column: str | None = Field(description="the column __time would be made from")
    date_order: str | None = Field(
        description="month_first or day_first: how dates such as 1/5/2019 are read; null when "
        "no date is written that way"
    )
    rows_total: int = Field(description="the rows that would be loaded")
    overrides: PreviewOverridesOut | None = Field(
        description="the changes asked for when the preview was confirmed; null: none"
    )
    schema_fixed: bool = Field(
        default=False,
        description="the datasource's column types are fixed (its contract, or its rows so "
        "far): only the date order can change, unless the file goes to a new datasource",
    )
    schema_fixed_why: str | None = Field(
        default=None, description="why the column types are fixed, in a sentence; null: not fixed"
    )


_NAME = Field(min_length=1, max_length=256)
_MANY = 1000  # at most as many entries as a file has columns


class OverridesIn(BaseModel):
    """What a person changes after a preview; columns are named as the file's header names
    them (the preview's source_name)."""

    types: dict[str, str] = Field(
        default_factory=dict,
        max_length=_MANY,
        description="column -> string, integer, float, boolean, date, time or datetime",
    )
    date_order: str | None = Field(
        default=None, max_length=20, description="month_first or day_first (1/5/2019 is May 1)"
    )
    time_column: str | None = Field(
        default=None, max_length=256, description="the column __time is made from (new name)"
    )
    rename: dict[str, str] = Field(
        default_factory=dict, max_length=_MANY, description="column -> its new name"
    )
    drop: list[str] = Field(default_factory=list, max_length=_MANY, description="columns left out")


class PreviewConfirm(BaseModel):
    """Loading a preview's file (or previewing it again) with the changes a person made."""

    datasource_name: str | None = Field(
        default=None, max_length=64, description="another datasource to load it into"
    )
    overrides: OverridesIn | None = None
    dry_run: bool = Field(default=False, description="preview again with the overrides")
    force: bool = Field(default=False, description="load it even when these bytes are loaded")
    on_invalid: str | None = Field(
        default=None, max_length=10, description="reject or skip (unset: as the preview)"
    )

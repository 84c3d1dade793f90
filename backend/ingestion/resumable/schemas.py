"""The shapes of the session API (REST, backend.api.uploads): what a client sends and reads."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from backend.ingestion.resumable.models import UploadSession
from backend.known_fields import StrictBody

SHA256_HEX = r"^[0-9a-fA-F]{64}$"
SHA256_BASE64 = r"^[A-Za-z0-9+/]{43}=$"
MAX_PARTS_ASKED = 100


class NewSession(StrictBody):
    """A file to send in parts, and what to do with it once complete (the upload form's
    fields)."""

    filename: str = Field(min_length=1, max_length=255, examples=["sales-2024.csv"])
    size: int = Field(ge=1, description="The file's size in bytes")
    sha256: str | None = Field(
        default=None, pattern=SHA256_HEX, description="The file's sha256 (hex), when known"
    )
    datasource_name: str = Field(max_length=200, examples=["sales"])
    force: bool = Field(
        default=False, strict=True, description="A new task even when the bytes were loaded"
    )
    dry_run: bool = Field(
        default=False, strict=True, description="Preview: read and check, load nothing"
    )
    on_invalid: str | None = Field(default=None, max_length=40, examples=["reject", "skip"])
    max_invalid_ratio: float | None = Field(default=None, ge=0, le=1, strict=True)  # not false
    sheet: str | None = Field(default=None, max_length=1000)
    time_column: str | None = Field(default=None, max_length=1000)
    mode: str | None = Field(default=None, max_length=40, examples=["append", "replace"])
    evolve: str | None = Field(default=None, max_length=100, examples=["add_columns,widen"])


class PartOut(BaseModel):
    number: int
    size: int
    etag: str


class SessionOut(BaseModel):
    """An upload session: its file, its parts so far and, once complete, its task."""

    id: str
    status: str = Field(examples=["open", "completing", "completed", "aborted", "expired"])
    filename: str
    size: int
    sha256: str | None
    datasource_name: str
    dry_run: bool
    part_size: int
    part_count: int
    storage: str = Field(examples=["s3", "local"])
    expires_at: dt.datetime
    created_at: dt.datetime
    parts: list[PartOut]
    received_bytes: int
    task_id: str | None
    status_url: str | None

    @classmethod
    def of(
        cls, row: UploadSession, storage: str, parts: list[PartOut], status_url: str | None
    ) -> SessionOut:
        return cls(
            id=row.id,
            status=row.status,
            filename=row.filename,
            size=row.size_bytes,
            sha256=row.sha256,
            datasource_name=row.datasource,
            dry_run=bool(row.options.get("dry_run", False)),
            part_size=row.part_size,
            part_count=row.part_count,
            storage=storage,
            expires_at=row.expires_at,
            created_at=row.created_at,
            parts=parts,
            received_bytes=sum(p.size for p in parts),
            task_id=row.task_id,
            status_url=status_url,
        )


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int


class PartAsked(StrictBody):
    number: int = Field(ge=1, le=10_000)
    sha256: str | None = Field(
        default=None, pattern=SHA256_BASE64, description="The part's sha256, base64"
    )


class PartsAsk(StrictBody):
    parts: list[PartAsked] = Field(min_length=1, max_length=MAX_PARTS_ASKED)


class PartAddressOut(BaseModel):
    number: int
    url: str
    method: str = "PUT"
    headers: dict[str, str]
    expires_at: dt.datetime


class PartAddresses(BaseModel):
    parts: list[PartAddressOut]


class PartSent(StrictBody):
    number: int
    etag: str = Field(max_length=200)


class CompleteBody(StrictBody):
    sha256: str | None = Field(default=None, pattern=SHA256_HEX)
    parts: list[PartSent] | None = Field(default=None, max_length=10_000)

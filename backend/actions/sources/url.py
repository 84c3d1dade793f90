"""An import from an http(s) address: a conditional GET through the guarded outbound client
(If-None-Match / If-Modified-Since from the version taken last), the file's name from
Content-Disposition or the address's path, and the version it is (ETag, else Last-Modified
with the size, else the bytes' sha256 once they are stored)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from backend import filenames
from backend.actions.models import ActionImportSeen
from backend.actions.outbound.client import (
    DestinationRefused,
    Download,
    OutboundClient,
    OutboundFailed,
    describe_target,
    refused_header,
)
from backend.actions.sources import SourceError
from backend.digits import ascii_count

LAST_MODIFIED = "lm:"
DEFAULT_NAME = "download"


@dataclass(frozen=True)
class Fetched:
    """The address's answer: None as `download` when nothing changed (304)."""

    download: Download | None
    tag: str | None  # None: known only from the bytes (sha256)
    size: int | None
    filename: str


def request_headers(
    header_name: str | None, header_value: str | None, latest: ActionImportSeen | None
) -> dict[str, str]:
    """The action's own header (its value is the sealed secret) and the conditions that make
    an unchanged file answer 304."""
    headers: dict[str, str] = {}
    if header_name and header_value:
        refusal = refused_header(header_name)
        if refusal is not None:  # stored before such headers were refused at creation
            raise SourceError(
                "header_refused",
                refusal,
                "Edit the import and give its header another name; the next run tries again.",
            )
        headers[header_name] = header_value
    tag = latest.etag if latest is not None else ""
    if tag.startswith(LAST_MODIFIED):
        headers["If-Modified-Since"] = tag.removeprefix(LAST_MODIFIED).rsplit("|", 1)[0]
    elif tag and not tag.startswith("sha256:"):
        headers["If-None-Match"] = tag
    return headers


@asynccontextmanager
async def fetch(
    client: OutboundClient, url: str, headers: Mapping[str, str], max_bytes: int
) -> AsyncIterator[Fetched]:
    """GET the address; SourceError for a refused address, no answer or an error status."""
    try:
        async with client.download(url, headers=headers, max_bytes=max_bytes) as download:
            yield _fetched(url, download)
    except DestinationRefused as exc:
        raise SourceError(
            "destination_refused",
            str(exc),
            "Import from a public address, or ask an administrator to name the host in "
            "ACTIONS_ALLOWED_HOSTS.",
        ) from None
    except OutboundFailed as exc:
        raise SourceError(
            "source_unreachable",
            exc.reason,
            "The next scheduled run tries again; run the action now once the address answers.",
        ) from None


def _fetched(url: str, download: Download) -> Fetched:
    if download.status == 304:
        return Fetched(None, None, None, "")
    if not 200 <= download.status < 300:
        raise SourceError(
            "source_answered_error",
            f"{describe_target(url)} answered HTTP {download.status} instead of the file.",
            "Check the address and the header the import sends; the next run tries again.",
        )
    size = ascii_count(download.headers.get("content-length"))
    return Fetched(download, version(download.headers, size), size, file_name(download))


def version(headers: Mapping[str, str], size: int | None) -> str | None:
    """What tells this version of the file from the next: the ETag, else Last-Modified and the
    declared size; None when the answer has neither (the bytes' digest then)."""
    etag = headers.get("etag", "").strip()
    if etag:
        return etag
    modified = headers.get("last-modified", "").strip()
    if modified and size is not None:
        return f"{LAST_MODIFIED}{modified[:80]}|{size}"
    return None


def file_name(download: Download) -> str:
    """Content-Disposition's file name, else the last part of the address's path."""
    disposition = download.headers.get("content-disposition")
    if disposition:
        _kind, parameters = filenames.parse_disposition(disposition)
        named = filenames.filename_of(parameters)
        if named:
            return _last_part(named)
    return _last_part(unquote(urlsplit(download.url).path)) or DEFAULT_NAME


def _last_part(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]

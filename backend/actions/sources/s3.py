"""An import from S3: one object (a key) or the new objects under a prefix (a key ending in
"/"), read with the service's own S3 client settings, only from buckets ACTIONS_S3_BUCKETS
names and never from the service's own storage prefix. Every boto3 call runs in the storage
threads (backend.threads.STORAGE)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from backend import threads
from backend.actions.sources import SourceError, seen_key, seen_tag
from backend.config import Settings
from backend.storage.s3 import Timeouts, make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_BYTES = 1024 * 1024
_HINT_READ = (
    "Check that the bucket exists and the service's credentials may list and read it; the next "
    "scheduled run tries again."
)


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str  # a prefix when it ends with "/" (or is empty: the whole bucket)

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def uri(self, key: str | None = None) -> str:
        return f"s3://{self.bucket}/{self.key if key is None else key}"


@dataclass(frozen=True)
class Found:
    key: str
    etag: str
    size: int


def parse(uri: str) -> Location:
    parts = urlsplit(uri)
    return Location(parts.netloc, uri.split("/", 3)[3] if uri.count("/") >= 3 else "")


def check_allowed(location: Location, settings: Settings) -> None:
    """SourceError unless the bucket is named in ACTIONS_S3_BUCKETS and the key is outside the
    service's own storage (STORAGE_URL), whose objects are the service's, not a user's."""
    if location.bucket not in settings.actions_s3_buckets:
        raise SourceError(
            "bucket_not_allowed",
            f"Imports may not read bucket {location.bucket!r}: it is not named in "
            "ACTIONS_S3_BUCKETS.",
            "Ask an administrator to add the bucket to ACTIONS_S3_BUCKETS, or import from a "
            "bucket it names.",
        )
    own = storage_location(settings)
    if own is not None and own.bucket == location.bucket and _overlaps(own.key, location.key):
        raise SourceError(
            "storage_prefix_refused",
            f"{location.uri()} is inside the service's own storage ({own.uri()}), which imports "
            "never read, whatever ACTIONS_S3_BUCKETS names.",
            "Import from another prefix or bucket named in ACTIONS_S3_BUCKETS.",
        )


def storage_location(settings: Settings) -> Location | None:
    """The service's own storage when it is on S3 (its prefix with a trailing "/")."""
    if not settings.storage_url.startswith("s3://"):
        return None
    parts = urlsplit(settings.storage_url)
    prefix = parts.path.strip("/")
    return Location(parts.netloc, f"{prefix}/" if prefix else "")


def _overlaps(own_prefix: str, key: str) -> bool:
    """Whether listing (or reading) `key` may reach an object under `own_prefix`."""
    return key.startswith(own_prefix) or own_prefix.startswith(key)


def client_for(settings: Settings) -> S3Client:
    """A client with the service's S3 settings (endpoint, region, credentials, timeouts)."""
    return make_client(
        settings.s3_endpoint_url,
        settings.aws_region,
        settings.aws_access_key_id,
        settings.aws_secret_access_key,
        Timeouts(
            settings.s3_connect_timeout_seconds,
            settings.s3_read_timeout_seconds,
            settings.s3_max_attempts,
        ),
    )


async def new_objects(
    client: S3Client,
    location: Location,
    seen: set[tuple[str, str]],
    limit: int,
) -> list[Found]:
    """Objects at the location not taken before (by their s3:// address and ETag), in key
    order, at most `limit`."""
    try:
        listed = await threads.STORAGE.run(_list, client, location)
    except (BotoCoreError, ClientError) as exc:
        raise SourceError("source_unreadable", _unreadable(location, exc), _HINT_READ) from None
    fresh = [f for f in listed if (seen_key(location.uri(f.key)), seen_tag(f.etag)) not in seen]
    return sorted(fresh, key=lambda found: found.key)[:limit]


def _list(client: S3Client, location: Location) -> list[Found]:
    return [
        found
        for found in _pages(client, location)
        if (location.is_prefix or found.key == location.key) and not found.key.endswith("/")
    ]


def _pages(client: S3Client, location: Location) -> Iterator[Found]:
    arguments: dict[str, Any] = {"Bucket": location.bucket, "Prefix": location.key}
    while True:
        page = client.list_objects_v2(**arguments)
        for item in page.get("Contents", []):
            yield Found(item["Key"], item.get("ETag", ""), item.get("Size", 0))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        arguments["ContinuationToken"] = token


async def object_chunks(
    client: S3Client, location: Location, found: Found
) -> AsyncGenerator[bytes, None]:
    """The object's bytes, in the version that was listed (If-Match on its ETag)."""
    try:
        answer = await threads.STORAGE.run(
            client.get_object, Bucket=location.bucket, Key=found.key, IfMatch=found.etag
        )
        body = answer["Body"]
        try:
            while chunk := await threads.STORAGE.run(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()
    except (BotoCoreError, ClientError) as exc:
        where = Location(location.bucket, found.key)
        raise SourceError("source_unreadable", _unreadable(where, exc), _HINT_READ) from None


def _unreadable(location: Location, exc: Exception) -> str:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "an error")
        return f"S3 refused to read {location.uri()} ({code})."
    return f"S3 could not be reached to read {location.uri()} ({type(exc).__name__})."

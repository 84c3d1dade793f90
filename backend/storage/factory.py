"""Builds the configured ObjectStore from STORAGE_URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from backend.config import Settings
from backend.storage.base import ObjectStore
from backend.storage.local import LocalObjectStore
from backend.storage.s3 import S3ObjectStore, Timeouts, make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def create_store(settings: Settings) -> ObjectStore:
    url = settings.storage_url
    if url.startswith("s3://"):
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"STORAGE_URL {url!r} has no bucket: use s3://bucket/prefix")
        timeouts = Timeouts(
            settings.s3_connect_timeout_seconds,
            settings.s3_read_timeout_seconds,
            settings.s3_max_attempts,
        )

        def client(timeouts: Timeouts) -> S3Client:
            return make_client(
                settings.s3_endpoint_url,
                settings.aws_region,
                settings.aws_access_key_id,
                settings.aws_secret_access_key,
                timeouts,
            )

        return S3ObjectStore(
            client(timeouts),
            parsed.netloc,
            parsed.path,
            settings.s3_endpoint_url,
            settings.aws_region,
            probe_client=lambda seconds: client(Timeouts(seconds, seconds, 1)),
        )
    if "://" in url and not url.startswith("file://"):
        raise ValueError(
            f"STORAGE_URL {url!r}: use a folder path, file:///path or s3://bucket/prefix"
        )
    return LocalObjectStore(Path(url.removeprefix("file://")))

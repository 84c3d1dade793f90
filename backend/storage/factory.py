"""Builds the configured ObjectStore from STORAGE_URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from backend.config import Settings
from backend.storage.base import ObjectStore
from backend.storage.local import LocalObjectStore
from backend.storage.s3 import S3ObjectStore, make_client


def create_store(settings: Settings) -> ObjectStore:
    url = settings.storage_url
    if url.startswith("s3://"):
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"STORAGE_URL {url!r} has no bucket: use s3://bucket/prefix")
        client = make_client(
            settings.s3_endpoint_url,
            settings.aws_region,
            settings.aws_access_key_id,
            settings.aws_secret_access_key,
        )
        return S3ObjectStore(
            client, parsed.netloc, parsed.path, settings.s3_endpoint_url, settings.aws_region
        )
    if "://" in url and not url.startswith("file://"):
        raise ValueError(
            f"STORAGE_URL {url!r}: use a folder path, file:///path or s3://bucket/prefix"
        )
    return LocalObjectStore(Path(url.removeprefix("file://")))

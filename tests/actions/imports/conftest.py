"""The import tests' fixtures: the backend (both kinds) with a source bucket on moto's S3 that
ACTIONS_S3_BUCKETS names, 127.0.0.1 allowed for addresses, and a 1 MB upload limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from backend.storage.s3 import make_client
from tests.conftest import App, Backend, app_for, create_bucket
from tests.factories import sales_csv
from tests.services import S3Server


@dataclass
class Source:
    backend: Backend
    bucket: str  # a bucket ACTIONS_S3_BUCKETS names, not the service's storage
    endpoint: str

    def put(self, key: str, body: bytes) -> None:
        client = make_client(self.endpoint, "us-east-1", "testing", "testing")
        client.put_object(Bucket=self.bucket, Key=key, Body=body)


@pytest.fixture
async def source(backend: Backend, s3: S3Server) -> Source:
    bucket = create_bucket(s3.endpoint_url)
    settings = backend.settings.model_copy(
        update={
            "actions_allowed_hosts": ["127.0.0.1"],
            "actions_s3_buckets": [bucket, "not-this-one"],
            "s3_endpoint_url": s3.endpoint_url,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "max_upload_mb": 1,
            "actions_min_interval_seconds": 60,  # a schedule every minute
        }
    )
    return Source(Backend(backend.name, settings, backend.env), bucket, s3.endpoint_url)


@pytest.fixture
async def app(source: Source) -> AsyncIterator[App]:
    async with app_for(source.backend) as running:
        yield running


def sales(seed: int) -> bytes:
    return sales_csv(rows=20, seed=seed)

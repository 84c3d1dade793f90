"""Which S3 addresses an import may read: buckets ACTIONS_S3_BUCKETS names, never anything a
listing could reach inside the service's own storage prefix (STORAGE_URL)."""

from __future__ import annotations

import pytest

from backend.actions.sources import SourceError
from backend.actions.sources.s3 import check_allowed, parse
from backend.config import Settings

SETTINGS = Settings(storage_url="s3://shared/ingest", actions_s3_buckets=["shared", "drops"])


@pytest.mark.parametrize(
    "uri",
    ["s3://drops/", "s3://drops/daily/", "s3://shared/exports/", "s3://shared/ingest-old/a.csv"],
)
def test_named_buckets_outside_the_storage_prefix_may_be_read(uri: str) -> None:
    check_allowed(parse(uri), SETTINGS)


@pytest.mark.parametrize(
    "uri", ["s3://shared/", "s3://shared/in", "s3://shared/ingest/", "s3://shared/ingest/raw/x.csv"]
)
def test_the_storage_prefix_and_what_lists_it_are_refused(uri: str) -> None:
    with pytest.raises(SourceError) as refusal:
        check_allowed(parse(uri), SETTINGS)
    assert refusal.value.code == "storage_prefix_refused"
    assert "s3://shared/ingest/" in refusal.value.message


def test_a_bucket_not_named_is_refused_with_the_setting_to_change() -> None:
    with pytest.raises(SourceError) as refusal:
        check_allowed(parse("s3://elsewhere/a.csv"), SETTINGS)
    assert refusal.value.code == "bucket_not_allowed"
    assert "ACTIONS_S3_BUCKETS" in refusal.value.message
    assert "ACTIONS_S3_BUCKETS" in refusal.value.hint

"""What an import refuses or gives up on: headers that frame or route the request (at creation,
and at run time for one stored before), a source that sends its file too slowly, and S3 keys
that only look like the service's own prefix (S3 keys are literal)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from backend.actions.sources import SourceError
from backend.actions.sources import s3 as s3_source
from backend.config import Settings
from tests.actions.imports.conftest import Source, sales
from tests.actions.imports.harness import Files, file_server, run_once, store_action
from tests.actions.outbound.receiver import Reply, always, receiving
from tests.conftest import App, Backend, app_for, create_bucket
from tests.services import S3Server

REFUSED = [
    "Host",
    "content-length",
    "Transfer-Encoding",
    "CONNECTION",
    "Keep-Alive",
    "TE",
    "Trailer",
    "Upgrade",
    "Proxy-Authorization",
    "Forwarded",
    "X-Forwarded-For",
    "x-forwarded-host",
    "Cookie",
]


def import_body(header: dict[str, str]) -> dict[str, Any]:
    return {
        "name": "nightly",
        "kind": "import",
        "params": {"url": "https://files.example.com/a.csv", "datasource": "s", "header": header},
    }


async def test_headers_that_frame_or_route_the_request_are_refused_at_creation(app: App) -> None:
    for name in REFUSED:
        answer = await app.client.post(
            "/api/actions", json=import_body({"name": name, "value": "x"})
        )
        assert answer.status_code == 422, (name, answer.text)
        error = answer.json()
        assert error["code"] == "invalid_input", error
        assert f"The header {name} may not be set by an action" in error["detail"], error
        assert "Authorization or X-API-Key" in error["detail"], error
    # A control character in a value is refused as before.
    broken = await app.client.post(
        "/api/actions", json=import_body({"name": "Authorization", "value": "a\r\nHost: x"})
    )
    assert broken.status_code == 422, broken.text
    assert (await app.client.get("/api/actions")).json()["total"] == 0
    for name in ("Authorization", "X-API-Key", "X-Token"):
        made = await app.client.post("/api/actions", json=import_body({"name": name, "value": "x"}))
        assert made.status_code == 201, (name, made.text)


async def test_a_stored_framing_header_fails_the_run_and_sends_nothing(app: App) -> None:
    with file_server(Files({"/f.csv": sales(1)})) as server:
        action = await store_action(
            app.runtime,
            {"url": server.url("/f.csv"), "datasource": "s", "header": {"name": "Host"}},
            secret="metadata.google.internal",
        )
        _, outcome = await run_once(app.runtime, action)
        assert server.hits == []
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["code"] == "header_refused"
    assert outcome.error["message"].startswith("The header Host may not be set by an action")
    assert "another name" in outcome.error["hint"]


async def test_a_source_that_drips_its_file_fails_the_run_in_seconds(source: Source) -> None:
    # Four bytes now and then, never a read time-out: before the minimum rate, the run held a
    # worker for up to 15 minutes, and the next scheduled run did it again.
    settings = source.backend.settings.model_copy(
        update={"actions_download_min_kb_per_s": 1, "actions_http_timeout_seconds": 0.5}
    )
    drip = Reply(200, {"ETag": '"v1"'}, body=b"region,amount\n" * 100, drip=0.02)
    async with app_for(Backend(source.backend.name, settings, source.backend.env)) as app:
        with receiving(always(drip)) as server:
            action = await store_action(
                app.runtime, {"url": server.url("/slow.csv"), "datasource": "s"}
            )
            started = time.monotonic()
            _, outcome = await run_once(app.runtime, action)
            took = time.monotonic() - started
    assert took < 5
    assert outcome.status == "failed" and outcome.error is not None, outcome
    assert outcome.error["code"] == "source_unreachable"
    assert outcome.error["message"].startswith(
        f"http://127.0.0.1:{server.port} sent the file slower than 1 KiB a second"
    )
    assert "ACTIONS_DOWNLOAD_MIN_KB_PER_S" in outcome.error["message"]
    assert "next scheduled run tries again" in outcome.error["hint"]
    assert outcome.output["task_ids"] == []  # nothing taken: the next run fetches it again


async def test_a_key_with_dot_segments_is_a_literal_key_not_the_storage_prefix(
    s3: S3Server,
) -> None:
    # S3 keys are literal: "other/../svc/" lists keys that begin with those very characters,
    # never the service's objects under "svc/" (neither boto3 nor the server normalises them).
    bucket = create_bucket(s3.endpoint_url)
    settings = Settings(
        storage_url=f"s3://{bucket}/svc",
        actions_s3_buckets=[bucket],
        s3_endpoint_url=s3.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client = s3_source.client_for(settings)
    client.put_object(Bucket=bucket, Key="svc/own.csv", Body=b"the service's own")
    client.put_object(Bucket=bucket, Key="other/../svc/theirs.csv", Body=sales(1))
    with pytest.raises(SourceError):
        s3_source.check_allowed(s3_source.parse(f"s3://{bucket}/svc/"), settings)
    for uri in (f"s3://{bucket}/other/../svc/", f"s3://{bucket}/./svc/", f"s3://{bucket}//svc/"):
        location = s3_source.parse(uri)
        s3_source.check_allowed(location, settings)
        found = await s3_source.new_objects(client, location, set(), 10)
        assert [item.key for item in found if "own" in item.key] == [], uri
    listed = await s3_source.new_objects(
        client, s3_source.parse(f"s3://{bucket}/other/../svc/"), set(), 10
    )
    assert [item.key for item in listed] == ["other/../svc/theirs.csv"]
    one = s3_source.parse(f"s3://{bucket}/other/../svc/own.csv")
    assert await s3_source.new_objects(client, one, set(), 10) == []

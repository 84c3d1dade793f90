"""Parts sent to the service itself (local folder storage): authorised by their signed address
alone, exactly their size, checked against their checksum, counted, and allowed past
MAX_UPLOAD_MB (a part is bounded by the part size instead)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from backend.ingestion.resumable import plan
from tests.conftest import App, Backend, app_for
from tests.ingestion.resumable.sending import (
    MIB,
    addresses,
    b64_sha256,
    chunk,
    create,
    csv_of_size,
    part_bytes_received,
    put,
)


@pytest.fixture
async def app(embedded: Backend) -> Any:
    settings = embedded.settings.model_copy(update={"upload_part_mb": 5, "max_upload_mb": 1})
    async with app_for(Backend(embedded.name, settings, embedded.env)) as running:
        yield running


async def test_a_part_needs_no_token_and_may_be_larger_than_max_upload_mb(app: App) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data)
    found = await addresses(app, session, data, [1])
    sent = await put(app, found[1], chunk(data, session["part_size"], 1))
    assert sent.status_code == 200, sent.text
    digest = hashlib.sha256(chunk(data, session["part_size"], 1)).hexdigest()
    assert sent.headers["etag"] == f'"{digest}"'
    assert sent.json() == {"number": 1, "size": 5 * MIB, "etag": digest}
    assert part_bytes_received(app) == 5 * MIB


async def test_a_bad_or_expired_signature_is_refused(app: App) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data)
    part = chunk(data, session["part_size"], 2)
    good = (await addresses(app, session, data, [2]))[2]
    forged = {**good, "url": good["url"].replace("signature=", "signature=0")}
    assert (await put(app, forged, part)).status_code == 403
    other_part = {**good, "url": good["url"].replace("/parts/2?", "/parts/1?")}
    assert (await put(app, other_part, part)).status_code == 403
    past = int(time.time()) - 1
    expired_url = plan.signed_part_url(
        "http://testserver", session["id"], 2, len(part), app.runtime.signing_key, past
    )
    expired = await put(app, {**good, "url": expired_url}, part)
    assert expired.status_code == 403, expired.text
    assert "expired" in expired.json()["error"]
    assert "POST /api/uploads/{id}/parts" in expired.json()["detail"]
    listed = (await app.client.get(f"/api/uploads/{session['id']}")).json()
    assert listed["parts"] == []


async def test_a_part_of_the_wrong_size_or_checksum_is_refused_and_not_recorded(
    app: App,
) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data)
    last = chunk(data, session["part_size"], 2)
    found = (await addresses(app, session, data, [2]))[2]
    short = await put(app, {**found, "headers": {}}, last[:-1])
    assert short.status_code == 422 and f"must have {len(last)}" in short.json()["error"]
    long = await put(app, {**found, "headers": {}}, last + b"x")
    assert long.status_code == 413, long.text
    changed = last[:-2] + b"9\n"
    wrong = await put(app, found, changed)
    assert wrong.status_code == 422 and "x-amz-checksum-sha256" in wrong.json()["error"]
    assert (await app.client.get(f"/api/uploads/{session['id']}")).json()["parts"] == []

    again = await put(app, {**found, "headers": {"x-amz-checksum-sha256": b64_sha256(last)}}, last)
    assert again.status_code == 200, again.text
    parts = (await app.client.get(f"/api/uploads/{session['id']}")).json()["parts"]
    assert [(p["number"], p["size"]) for p in parts] == [(2, len(last))]


async def test_a_file_whose_sha256_is_not_the_declared_one_is_refused(app: App) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data, sha256="0" * 64)
    for number in (1, 2):
        found = (await addresses(app, session, data, [number]))[number]
        assert (await put(app, found, chunk(data, session["part_size"], number))).status_code == 200
    refused = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert refused.status_code == 422, refused.text
    assert "sha256 declared" in refused.json()["error"]
    assert (await app.client.get(f"/api/uploads/{session['id']}")).json()["status"] == "aborted"
    assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0

"""A part being written (local folder storage), on SQLite and on PostgreSQL: a write that fails
(wrong size, wrong checksum, too slow) leaves the part missing, never the earlier good part
believed; complete waits for a part still being written, so no byte lands in a completed file."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from backend.db import session_scope, utcnow
from backend.ingestion.resumable import writing
from backend.ingestion.resumable.models import UploadPart
from tests.conftest import App, Backend, app_for, make_backend
from tests.factories import sales_csv
from tests.ingestion.resumable.sending import addresses, create, put


@pytest.fixture(params=["sqlite", "postgres"])
async def app(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    made = await make_backend(
        "embedded" if request.param == "sqlite" else "postgres_s3", request, tmp_path
    )
    settings = made.settings.model_copy(
        update={
            "upload_part_mb": 5,
            "storage_url": str(tmp_path / "storage"),
            "body_read_timeout_s": 1.0,
            "body_min_kb_per_s": 1024,
        }
    )
    async with app_for(Backend(made.name, settings, made.env)) as running:
        yield running


async def parts_listed(app: App, session: dict[str, Any]) -> list[int]:
    listed = (await app.client.get(f"/api/uploads/{session['id']}")).json()
    return [p["number"] for p in listed["parts"]]


async def one_part_session(app: App, data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """A session of one part, the part sent whole; and the part's address (no checksum)."""
    session = await create(app, data)
    found = {**(await addresses(app, session, data, [1]))[1], "headers": {}}
    assert (await put(app, found, data)).status_code == 200
    return session, found


async def test_a_refused_part_is_missing_until_it_is_sent_again(app: App) -> None:
    data = sales_csv(rows=200)
    session, found = await one_part_session(app, data)
    other = data.replace(b",", b";", 5)  # other bytes of the same length
    for body, status in ((other[:-1], 422), (other + b"x", 413)):
        refused = await put(app, found, body)
        assert refused.status_code == status, refused.text
        assert "Part 1 was not stored; send it again" in refused.json()["detail"]
        assert await parts_listed(app, session) == []  # before: the good part, still listed
    bad_sum = {**found, "headers": {"x-amz-checksum-sha256": "A" * 43 + "="}}
    assert (await put(app, bad_sum, other)).status_code == 422
    assert await parts_listed(app, session) == []

    missing = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert missing.status_code == 409 and missing.json()["error"] == "Part 1 is missing"
    assert (await put(app, found, data)).status_code == 200
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text
    assert completed.json()["sha256"] == hashlib.sha256(data).hexdigest()


async def test_complete_waits_for_a_part_still_being_written(app: App) -> None:
    data = sales_csv(rows=300)
    session, found = await one_part_session(app, data)
    other = data.replace(b",", b";", 5)  # sent again, other bytes of the same length
    reading, go = asyncio.Event(), asyncio.Event()

    async def slowly() -> AsyncIterator[bytes]:
        yield other[:100]
        reading.set()  # the service asks for more: it has begun writing the part
        await go.wait()
        yield other[100:]

    sending = asyncio.create_task(put(app, found, slowly()))
    await asyncio.wait_for(reading.wait(), 10)
    refused = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert refused.status_code == 409, refused.text  # before: 202, the file still changing
    assert refused.json()["error"] == "Part 1 is still being sent"
    assert "Complete again once it ends" in refused.json()["detail"]
    go.set()
    assert (await sending).status_code == 200

    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text
    path = app.runtime.store.local_path(f"sessions/{session['id']}/big.csv")
    assert path is not None
    stored = path.read_bytes()
    assert stored == other
    assert completed.json()["sha256"] == hashlib.sha256(stored).hexdigest()


async def test_a_part_that_trickles_is_cut_off_and_missing(app: App) -> None:
    data = sales_csv(rows=200)
    session, found = await one_part_session(app, data)

    async def trickle() -> AsyncIterator[bytes]:
        yield data[:100]
        await asyncio.sleep(3)  # the limit: 1 s plus the part's size at 1 MiB/s
        yield data[100:]

    cut = await put(app, found, trickle())
    assert cut.status_code == 408, cut.text
    assert await parts_listed(app, session) == []  # before: the earlier good part
    missing = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert missing.status_code == 409 and missing.json()["error"] == "Part 1 is missing"


async def test_a_write_older_than_its_time_limit_counts_as_cut_off(app: App) -> None:
    """Its request died with its process: complete does not wait for it, the part is missing."""
    data = sales_csv(rows=50)
    session, _ = await one_part_session(app, data)
    async with session_scope(app.runtime.sessions) as db:
        await db.execute(
            update(UploadPart)
            .where(UploadPart.session_id == session["id"])
            .values(state="writing", writer="gone", started_at=utcnow() - dt.timedelta(hours=1))
        )
    missing = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert missing.status_code == 409 and missing.json()["error"] == "Part 1 is missing"
    assert (await app.client.get(f"/api/uploads/{session['id']}")).json()["status"] == "open"


async def writing_since(app: App, session_id: str, ago: dt.timedelta) -> None:
    """The session's part recorded as being written, its writer last heard of `ago`."""
    async with session_scope(app.runtime.sessions) as db:
        await db.execute(
            update(UploadPart)
            .where(UploadPart.session_id == session_id)
            .values(state="writing", writer="gone", started_at=utcnow() - ago)
        )


async def test_a_part_whose_writer_stopped_is_sent_again_within_a_minute(app: App) -> None:
    """A crash (kill -9) mid-part: its record is no longer refreshed, and the part may be sent
    again once it has not been for 30 seconds, whatever the part's time limit."""
    app.runtime.settings.body_read_timeout_s = 300  # a part may take minutes to arrive
    data = sales_csv(rows=50)
    session, found = await one_part_session(app, data)
    await writing_since(app, session["id"], dt.timedelta(seconds=5))
    busy = await put(app, found, data)
    assert busy.status_code == 429, busy.text
    assert busy.json()["error"] == (
        "Part 1 is being sent by another request (or one that stopped less than 30 seconds "
        "ago); send it again in a few seconds"
    )
    assert 20 <= int(busy.headers["retry-after"]) <= 25
    waiting = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert waiting.status_code == 409 and waiting.json()["error"] == "Part 1 is still being sent"
    assert "less than 30 seconds ago" in waiting.json()["detail"]
    assert waiting.headers["retry-after"] == "5"

    await writing_since(app, session["id"], dt.timedelta(seconds=40))
    sent = await put(app, found, data)
    assert sent.status_code == 200, sent.text  # before: 429 for 300 s + the part's time + 30 s
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text


async def test_a_writer_keeps_its_record_fresh_and_stops_when_it_is_taken_over(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writing, "BEAT_SECONDS", 0.05)
    data = sales_csv(rows=300)
    session, found = await one_part_session(app, data)
    reading, go = asyncio.Event(), asyncio.Event()

    async def slowly() -> AsyncIterator[bytes]:
        yield data[:100]
        reading.set()
        await go.wait()
        yield data[100:]

    sending = asyncio.create_task(put(app, found, slowly()))
    await asyncio.wait_for(reading.wait(), 10)
    async with session_scope(app.runtime.sessions) as db:  # as if not refreshed for 40 s
        await db.execute(
            update(UploadPart)
            .where(UploadPart.session_id == session["id"])
            .values(started_at=utcnow() - dt.timedelta(seconds=40))
        )
    await asyncio.sleep(0.3)
    async with session_scope(app.runtime.sessions) as db:
        part = await db.get(UploadPart, (session["id"], 1))
        assert part is not None and part.started_at is not None
        assert part.state == "writing" and part.started_at > utcnow() - dt.timedelta(seconds=5)
    async with session_scope(app.runtime.sessions) as db:  # another request takes it over
        await db.execute(
            update(UploadPart).where(UploadPart.session_id == session["id"]).values(writer="new")
        )
    await asyncio.sleep(0.3)
    go.set()
    cut = await sending
    assert cut.status_code == 409, cut.text
    assert "Part 1 was not stored; send it again" in cut.json()["detail"]

"""An unfinished upload session expires: the janitor removes its parts (S3: its multipart
upload) and its status says so; until then, the janitor's sweeps of crashed uploads leave its
parts alone, however old they are."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from backend.db import session_scope
from backend.ingestion.resumable import expiry
from backend.ingestion.resumable.models import UploadSession
from backend.storage import parts
from backend.storage.s3 import S3ObjectStore
from backend.worker import janitor
from tests.conftest import App
from tests.factories import stored_keys
from tests.ingestion.resumable.sending import MIB, create, csv_of_size, send_parts


@pytest.fixture(autouse=True)
def five_mib_parts(app: App) -> None:
    app.runtime.settings.upload_part_mb = 5


def multipart_uploads(app: App) -> list[str]:
    store = app.runtime.store
    if not isinstance(store, S3ObjectStore):
        return []
    listed = store.client.list_multipart_uploads(Bucket=store.bucket)
    return [u["Key"] for u in listed.get("Uploads", [])]


async def expire_now(app: App) -> int:
    target = parts.target(app.runtime.store, app.runtime.settings)
    return await expiry.expire_sessions(app.runtime.sessions, target)


async def test_the_janitors_sweeps_leave_an_open_sessions_parts_alone(app: App) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data)
    await send_parts(app, session, data, [1])
    before = await stored_keys(app.runtime, "sessions")
    uploads = multipart_uploads(app)

    await janitor.remove_orphans(app.runtime.sessions, app.runtime.store, older_than=0)
    await app.runtime.store.abort_stale_writes(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert await expire_now(app) == 0

    assert await stored_keys(app.runtime, "sessions") == before
    assert multipart_uploads(app) == uploads
    await send_parts(app, session, data, [2])
    completed = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert completed.status_code == 202, completed.text


async def test_an_expired_session_loses_its_parts_and_takes_no_more(app: App) -> None:
    data = csv_of_size(6 * MIB)
    session = await create(app, data)
    await send_parts(app, session, data, [2])
    async with session_scope(app.runtime.sessions) as db:
        await db.execute(
            update(UploadSession)
            .where(UploadSession.id == session["id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )

    assert await expire_now(app) == 1

    assert await stored_keys(app.runtime, "sessions") == []
    assert multipart_uploads(app) == []
    gone = await app.client.get(f"/api/uploads/{session['id']}")
    assert (gone.json()["status"], gone.json()["parts"]) == ("expired", [])
    late = await app.client.post(f"/api/uploads/{session['id']}/complete")
    assert late.status_code == 409 and "expired" in late.json()["error"]
    assert await expire_now(app) == 0

"""A workbook viewed (or starred) while its owner deletes it: the view waits for the delete and
then says the workbook is not there (404), the delete goes through; never a deadlock answered as
"busy" nor a foreign-key error answered as a 500. PostgreSQL only: its row locks are what the
two take (SQLite has one writer at a time)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import update

from backend.db import session_scope, utcnow
from backend.workbooks import store
from backend.workbooks.models import WorkbookViewer
from tests.locks import Held, waiting_on_a_lock
from tests.workbooks.conftest import People, save

pytestmark = pytest.mark.parametrize("backend", ["postgres_s3"], indirect=True)


@pytest.mark.parametrize("door", ["first view", "repeat view", "star"])
async def test_a_view_during_the_delete_waits_and_finds_nothing(
    people: People, monkeypatch: pytest.MonkeyPatch, door: str
) -> None:
    book = await save(people.alice, visibility="shared")
    path = f"/api/workbooks/{book['id']}"
    if door == "repeat view":  # a counted view: the person's row changes and an event is added
        assert (await people.bob.post(f"{path}/view")).status_code == 200
        async with session_scope(people.app.runtime.sessions) as session:
            await session.execute(
                update(WorkbookViewer)
                .where(WorkbookViewer.workbook_id == book["id"])
                .values(last_viewed=utcnow() - dt.timedelta(minutes=2))
            )
    held = Held(monkeypatch, store, "unindex")
    deleting = asyncio.create_task(people.alice.delete(path))
    await held.reached()
    if door == "star":
        looking = asyncio.create_task(people.bob.post(f"{path}/favorite"))
    else:
        looking = asyncio.create_task(people.bob.post(f"{path}/view"))
    await waiting_on_a_lock(people.app.runtime.sessions)
    held.go.set()
    deleted, looked = await asyncio.wait_for(asyncio.gather(deleting, looking), 30)

    assert deleted.status_code == 204, deleted.text
    assert looked.status_code == 404, looked.text
    assert (await people.bob.get(path)).status_code == 404

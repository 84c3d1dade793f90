"""Notifications, on the embedded default and on PostgreSQL: an upload's end notifies its
uploader (through the real worker), each person reads and marks only their own, every input is
bounded, and the janitor forgets them after NOTIFICATIONS_KEEP_DAYS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import update

from backend.auth.models import User
from backend.auth.roles import Role
from backend.db import session_scope, utcnow
from backend.notifications import service
from backend.notifications.models import Notification, NotificationKind
from backend.worker import janitor
from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task


async def notices(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await client.get("/api/notifications", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def notify(app: App, name: str, title: str) -> None:
    """A notification for the user called `name`, as a workbook share writes one."""
    async with session_scope(app.runtime.sessions) as session:
        await service.add(session, User.name == name, NotificationKind.WORKBOOK_SHARED, title)


async def test_an_upload_that_succeeds_notifies_its_uploader(app: App) -> None:
    async with app.client_as(await app.token(Role.UPLOADER, "ana")) as ana:
        accepted = await upload(ana, content=sales_csv(rows=1000), filename="sales.csv")
        task_id = accepted.json()["task_id"]
        assert (await wait_for_task(ana, task_id))["status"] == "succeeded"
        body = await notices(ana)
    assert body["unread"] == 1
    [item] = body["items"]
    assert item["kind"] == "task_succeeded"
    assert item["title"] == "Your upload sales.csv into sales succeeded: 1,000 rows loaded."
    assert item["link"] == f"/tasks/{task_id}"
    assert item["read_at"] is None and item["created_at"]
    assert (await notices(app.client))["items"] == []  # only the uploader hears of it


async def test_a_failed_upload_notifies_its_uploader_with_the_reason(app: App) -> None:
    async with app.client_as(await app.token(Role.UPLOADER, "ana")) as ana:
        accepted = await upload(ana, content=b"Invoice ID,Branch\nnope,Z\n", filename="bad.csv")
        task = await wait_for_task(ana, accepted.json()["task_id"])
        assert task["status"] == "failed"
        [item] = (await notices(ana))["items"]
    reason = task["error"]["message"].rstrip(".")
    assert item["kind"] == "task_failed"
    assert item["title"] == f"Your upload bad.csv into sales failed: {reason}."
    assert item["body"] == task["error"]["detail"]


async def test_people_see_and_mark_only_their_own(app: App) -> None:
    async with (
        app.client_as(await app.token(Role.VIEWER, "ana")) as ana,
        app.client_as(await app.token(Role.VIEWER, "ben")) as ben,
    ):
        for number in range(3):
            await notify(app, "ana", f"Note {number} for Ana.")
        await notify(app, "ben", "A note for Ben.")
        mine = await notices(ana)
        assert [i["title"] for i in mine["items"]] == [f"Note {n} for Ana." for n in (2, 1, 0)]
        ids = [i["id"] for i in mine["items"]]
        # Ben marks Ana's (and ids nobody has): nothing of Ana's changes, nothing fails
        marked = await ben.post("/api/notifications/read", json={"ids": [*ids, "999999"]})
        assert marked.status_code == 200, marked.text
        assert marked.json() == {"unread": 1}
        assert (await ana.get("/api/notifications/unread-count")).json() == {"unread": 3}
        marked = await ana.post("/api/notifications/read", json={"ids": [ids[0]]})
        assert marked.json() == {"unread": 2}
        unread = await notices(ana, unread="true")
        assert [i["id"] for i in unread["items"]] == ids[1:]
        older = await notices(ana, before=ids[0], limit=1)
        assert [i["id"] for i in older["items"]] == [ids[1]]
        assert (await ana.post("/api/notifications/read", json={"all": True})).json() == {
            "unread": 0
        }
        assert all(i["read_at"] for i in (await notices(ana))["items"])
        assert (await ben.get("/api/notifications/unread-count")).json() == {"unread": 1}


async def test_every_input_is_bounded_and_anonymous_callers_are_refused(app: App) -> None:
    async with app.client_as(await app.token(Role.VIEWER, "ana")) as ana:
        too_many = await ana.post("/api/notifications/read", json={"ids": ["1"] * 501})
        assert too_many.status_code == 422, too_many.text
        not_a_flag = await ana.post("/api/notifications/read", json={"all": 1})
        assert not_a_flag.status_code == 422, not_a_flag.text
        assert (await ana.get("/api/notifications", params={"limit": 201})).status_code == 422
        bad = await ana.get("/api/notifications", params={"before": "1; drop"})
        assert bad.status_code == 422
    async with app.client_as(None) as nobody:
        assert (await nobody.get("/api/notifications")).status_code == 401


async def test_the_janitor_forgets_notifications_after_the_days_kept(app: App) -> None:
    await notify(app, "test-admin", "An old note.")
    await notify(app, "test-admin", "A new note.")
    async with session_scope(app.runtime.sessions) as session:
        await session.execute(
            update(Notification)
            .where(Notification.title == "An old note.")
            .values(created_at=utcnow() - dt.timedelta(days=31))
        )
    assert app.runtime.settings.notifications_keep_days == 30
    assert await janitor.purge_notifications(app.runtime.sessions, 30) == 1
    assert [i["title"] for i in (await notices(app.client))["items"]] == ["A new note."]


def test_an_alerts_window_is_said_as_given() -> None:
    """The window arrives in words with its days; its dates keep their hyphens."""
    from backend.notifications.messages import alert_fired

    title = alert_fired("Quiet day", "sum of Total", "yesterday (2026-12-04)", 12.5, "below 1,000")
    assert title == (
        "Your alert “Quiet day” fired: sum of Total for yesterday (2026-12-04) is 12.50, "
        "below 1,000."
    )

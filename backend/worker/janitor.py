"""Cleans up what crashes leave behind: uploads stored under raw/<task id>/ whose task was never
recorded (the process died between streaming and the commit), and writes never committed; and
what is kept only for a while (notifications older than NOTIFICATIONS_KEEP_DAYS)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence

from backend.db import SessionMaker, session_scope, utcnow
from backend.notifications import service as notifications
from backend.storage import ObjectStore
from backend.tasks import repository

log = logging.getLogger(__name__)
# More clean-up the composition root hands the janitor (upload sessions' expiry: domain code
# above the workers): each returns how many things it removed.
Chore = Callable[[], Awaitable[int]]


async def run_chores(chores: Sequence[Chore]) -> None:
    """Each chore once; one that fails is logged and runs again next time."""
    for chore in chores:
        try:
            await chore()
        except Exception:
            log.exception("a janitor's clean-up failed; it runs again later")


async def remove_orphans(sessions: SessionMaker, store: ObjectStore, older_than: float) -> int:
    """Delete staged uploads older than `older_than` seconds that no task refers to, and stale
    partial writes; returns how many objects went. Uploads still streaming are younger. Upload
    sessions' objects (under sessions/) are left to their own expiry."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than)
    removed = await store.abort_stale_writes(cutoff)
    staged: dict[str, list[str]] = {}
    for info in await store.list_prefix("raw"):
        parts = info.key.split("/")
        if len(parts) >= 3 and info.modified is not None and info.modified < cutoff:
            staged.setdefault(parts[1], []).append(info.key)
    ids = list(staged)
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        async with session_scope(sessions) as session:
            known.update(await repository.existing(session, ids[start : start + 500]))
    for task_id in set(ids) - known:
        for key in staged[task_id]:
            await store.delete(key)
            removed += 1
    if removed:
        log.info("removed %d orphaned upload object(s) older than %.0f s", removed, older_than)
    return removed


# Where an upload's file is stored: a single request's under raw/<task id>/, an upload
# session's under sessions/<session id>/ (the session's file becomes its task's).
UPLOAD_FOLDERS = ("raw", "sessions")


async def remove_previews(sessions: SessionMaker, store: ObjectStore, keep_seconds: float) -> int:
    """Delete the files of previews (dry runs) that ended more than `keep_seconds` ago,
    wherever their task's storage_key is, with what the task kept beside it under raw/<task
    id>/ (its rejected rows): they were kept for confirming the preview without sending the
    file again. Returns how many objects went."""
    cutoff = utcnow() - dt.timedelta(seconds=keep_seconds)
    keys = [info.key for folder in UPLOAD_FOLDERS for info in await store.list_prefix(folder)]
    previews: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        async with session_scope(sessions) as session:
            batch = keys[start : start + 500]
            previews.update(await repository.previews_ended_before(session, batch, cutoff))
    removed = 0
    for task_id, key in sorted(previews.items()):
        await store.delete(key)
        removed += 1 + await store.delete_prefix(f"raw/{task_id}")
    if removed:
        log.info("removed %d preview file(s) kept %.0f s", removed, keep_seconds)
    return removed


async def purge_notifications(sessions: SessionMaker, keep_days: int) -> int:
    """Delete notifications older than `keep_days` days; returns how many went."""
    async with session_scope(sessions) as session:
        removed = await notifications.purge(session, keep_days)
    if removed:
        log.info("removed %d notification(s) older than %d days", removed, keep_days)
    return removed

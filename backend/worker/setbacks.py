"""When a run cannot go on: the task fails with a message for users, or waits for the storage or
Druid to come back (neither is a failed attempt)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from backend.config import Settings
from backend.db import session_scope, utcnow
from backend.druid.client import DruidClient, DruidError
from backend.monitoring import tracing
from backend.pipeline import remedies
from backend.pipeline.normalize import Failure
from backend.redaction import scrub
from backend.tasks import lifecycle, repository
from backend.tasks.models import TaskStatus
from backend.worker.leases import Holder
from backend.worker.outages import STORAGE_WAIT

log = logging.getLogger(__name__)


async def fail(holder: Holder, task_id: str, failure: Failure, **values: Any) -> None:
    """Fail the task; `values` are further columns to set (report, counts, druid_report).
    The message is shown to users: no server path, credential or signature in it."""
    message, detail = scrub(failure.message), scrub(failure.detail)
    error: dict[str, Any] = {"code": failure.code, "message": message, "detail": detail}
    # Kept as data, each door words them (a retry too, where one may get through).
    error["remedies"] = remedies.of_error({**error, "remedies": failure.remedies})
    await holder.move(
        task_id,
        TaskStatus.FAILED,
        message,
        error=error,
        finished_at=utcnow(),
        lease_owner=None,
        lease_expires_at=None,
        **values,
    )
    tracing.failed(failure.code)  # recorded (a cancel meanwhile raised LeaseLost instead)


async def wait_for_druid(holder: Holder, settings: Settings, task_id: str, reason: str) -> None:
    """Release the task until Druid may be back; the backoff doubles up to its cap."""
    async with session_scope(holder.sessions) as session:
        current = await repository.find(session, task_id, events=False)
        report = dict((current.druid_report if current else None) or {})
    waits = int(report.get("waits", 0)) + 1
    report.update(waits=waits, last_outage=reason)
    delay = min(settings.druid_poll_seconds * 2**waits, settings.druid_retry_max_seconds)
    await holder.move(
        task_id,
        TaskStatus.WAITING_FOR_DRUID,
        f"Druid is not available ({reason}); trying again in {delay:.0f} s. The data is valid "
        "and already served by the embedded engine.",
        druid_report=report,
        next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
        lease_owner=None,
        lease_expires_at=None,
    )


async def wait_for_storage(holder: Holder, settings: Settings, task_id: str) -> None:
    """The storage did not answer: the task goes back to the queue, claimed again once its
    backoff has passed (doubling up to STORAGE_RETRY_MAX_SECONDS). The wait is not a failed
    attempt; the upload is safe in storage, and processing starts over when it is back."""
    async with session_scope(holder.sessions) as session:
        waits = await repository.count_events(session, task_id, starting=STORAGE_WAIT)
    delay = min(2.0**waits, settings.storage_retry_max_seconds)
    log.warning("task %s: the storage does not answer; retried in %.0f s", task_id, delay)
    await holder.move(
        task_id,
        TaskStatus.QUEUED,
        f"{STORAGE_WAIT}; the task tries again in {delay:.0f} s (nothing is lost).",
        next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
        attempts=lifecycle.not_an_attempt(),
        progress=0.0,
        lease_owner=None,
        lease_expires_at=None,
    )


async def stop_cancelled_druid_task(holder: Holder, client: DruidClient, task_id: str) -> None:
    """A task cancelled during its Druid phase: ask Druid to stop its task too (not when the
    lease was lost to another worker, which goes on tracking it)."""
    async with session_scope(holder.sessions) as session:
        task = await repository.find(session, task_id, events=False)
    if task is None or task.status != TaskStatus.CANCELLED.value or not task.druid_task_id:
        return
    try:
        await client.shutdown_task(task.druid_task_id)
    except DruidError as exc:
        log.warning("task %s: Druid task %s not stopped: %s", task_id, task.druid_task_id, exc)

"""Loading a stored dataset into Druid, as the last phase of a task (when DRUID_URL is set).

druid_submitting -> druid_indexing -> druid_loading -> succeeded, where succeeded means queryable:
Druid's task succeeded, the historicals serve 100% of the task's interval, and the broker counts
the task's rows. Druid unreachable at any step: the task waits (`waiting_for_druid`, released to
be claimed again after a backoff); it is never failed for an outage. Druid refusing the spec or
failing the task: the task fails with Druid's own message.

Restart safety: the Druid task id is chosen and committed before the spec is submitted, and the
spec carries it, so a worker that takes the task over resumes tracking the same Druid task.
The rolled-up datasource (backend/druid/rollup.py) is planned here (its task id and what it
holds, in the report) but loaded only once the raw rows are queryable, by a second Druid task
that then has the cores to itself (backend/druid_rollup_load.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from backend import threads
from backend.analytics import druid_rollup as rollups
from backend.config import Settings
from backend.druid import copy as druid_copy
from backend.druid import rollup as rolled
from backend.druid import urls
from backend.druid.client import DruidClient, DruidRequestError, DruidUnavailable, TaskState
from backend.druid.spec import (
    TASK_COLUMN,
    HttpLocation,
    InputFormat,
    S3Location,
    input_source,
    with_text_copies,
)
from backend.druid.sql import quote
from backend.monitoring import tracing
from backend.priority import run_heavy
from backend.redaction import redact
from backend.storage import ObjectStore
from backend.storage.s3 import S3ObjectStore
from backend.tasks.models import IngestionTask, TaskStatus

log = logging.getLogger(__name__)


class DruidFailed(Exception):
    """Druid refused or failed the work: the task fails with this message (already redacted)."""

    def __init__(self, message: str, detail: str, report: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = redact(message)
        self.detail = detail
        self.report = report


class Step(Protocol):
    """The runner's lease-guarded state change (raises LeaseLost when the task is gone)."""

    def __call__(
        self, task_id: str, status: TaskStatus, message: str, **values: Any
    ) -> Awaitable[None]: ...


def druid_datasource(settings: Settings, datasource: str) -> str:
    return f"{settings.druid_datasource_prefix}{datasource}"


def copy_key(datasource: str, task_id: str, kind: InputFormat) -> str:
    return f"druid/{datasource}/{druid_copy.copy_name(task_id, kind)}"


def input_format(settings: Settings) -> InputFormat:
    return InputFormat(settings.druid_input_format)


def source_key(settings: Settings, task: IngestionTask) -> str:
    """The object Druid reads: the dataset itself (Parquet) or its JSON/CSV copy."""
    kind = input_format(settings)
    if kind is InputFormat.PARQUET:
        assert task.dataset_key is not None
        return task.dataset_key
    return copy_key(task.datasource, task.id, kind)


async def write_copy(
    settings: Settings, store: ObjectStore, task: IngestionTask, dataset: Path, workdir: Path
) -> None:
    """Store the choice of the task's rollup, then the Druid copy of its dataset (if any)."""
    choice = await run_heavy(rollups.choose, dataset, task.datasource)
    chosen = workdir / "rollup.json"
    await threads.FILES.run(chosen.write_text, choice.to_json())
    await store.put_file(rolled.choice_key(task.datasource, task.id), chosen)
    kind = input_format(settings)
    if kind is InputFormat.PARQUET:
        return
    target = workdir / druid_copy.copy_name("druid", kind)
    await run_heavy(druid_copy.write_copy, dataset, target, kind)
    await store.put_file(copy_key(task.datasource, task.id, kind), target)


async def ensure_copy(
    settings: Settings, store: ObjectStore, task: IngestionTask, workdir: Path
) -> None:
    """After a take-over the copy may be missing (the previous worker died first): rebuild it."""
    key = source_key(settings, task)
    if await store.exists(key) and await store.exists(rolled.choice_key(task.datasource, task.id)):
        return
    assert task.dataset_key is not None
    dataset = store.local_path(task.dataset_key)
    if dataset is None:
        dataset = workdir / "dataset.parquet"
        await store.get_file(task.dataset_key, dataset)
    await write_copy(settings, store, task, dataset, workdir)


def signed_location(
    settings: Settings, store: ObjectStore, key: str, signing_key: bytes
) -> HttpLocation | S3Location:
    if settings.druid_input_source == "s3":
        if not isinstance(store, S3ObjectStore):
            raise DruidFailed(
                "DRUID_INPUT_SOURCE=s3 needs S3 storage, but STORAGE_URL is a local folder",
                "Set DRUID_INPUT_SOURCE=http (Druid then reads signed URLs served by this service).",
            )
        return S3Location(store.bucket, store.object_key(key), store.endpoint_url, store.region)
    ttl = settings.druid_url_ttl_seconds
    if isinstance(store, S3ObjectStore):
        url = store.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": store.bucket, "Key": store.object_key(key)},
            ExpiresIn=ttl,
        )
        return HttpLocation((url,))
    return HttpLocation((urls.sign(settings.data_base_url, key, signing_key, ttl),))


def unsigned_location(
    settings: Settings, store: ObjectStore, key: str
) -> HttpLocation | S3Location:
    """Where Druid will read `key`, as stored on the task: signatures are added at submission."""
    if settings.druid_input_source == "s3" and isinstance(store, S3ObjectStore):
        return S3Location(store.bucket, store.object_key(key), store.endpoint_url, store.region)
    if isinstance(store, S3ObjectStore):
        where = store.endpoint_url or f"https://{store.bucket}.s3.{store.region}.amazonaws.com"
        return HttpLocation(
            (f"{where}/{store.bucket}/{store.object_key(key)}?{urls.SIGNED_LATER}",)
        )
    return HttpLocation((f"{urls.signed_path(settings.data_base_url, key)}?{urls.SIGNED_LATER}",))


async def check_readable(location: HttpLocation | S3Location, timeout: float) -> None:
    """Read the first byte of each URL as Druid will, so a bad URL fails now and clearly rather
    than after Druid's minutes of retries. Connection failures are outages (raised as such)."""
    if not isinstance(location, HttpLocation):
        return
    async with httpx.AsyncClient(timeout=timeout) as client:
        for url in location.uris:
            try:
                response = await client.get(url, headers={"Range": "bytes=0-0"})
            except httpx.TransportError as exc:
                raise DruidUnavailable(
                    f"the dataset URL {redact(url)} does not answer ({type(exc).__name__})"
                ) from None
            if response.status_code not in (200, 206):
                raise DruidFailed(
                    f"the dataset URL Druid would read answers {response.status_code}: "
                    f"{redact(url)}",
                    "Check DRUID_DATA_BASE_URL (this service as Druid reaches it), that every "
                    "process has the same SIGNING_SECRET, and that clocks agree; then retry.",
                )
            if response.headers.get("content-type", "").startswith("text/html"):
                # A base URL pointing at the wrong path reaches a web page (ours answers every
                # client route with the web app), not the dataset: Druid would ingest HTML.
                raise DruidFailed(
                    f"the dataset URL Druid would read answers a web page, not the dataset: "
                    f"{redact(url)}",
                    "Check DRUID_DATA_BASE_URL: it is this service's address as Druid reaches "
                    "it, without a path; then retry.",
                )


def spec_with_input(
    stored: dict[str, Any], location: HttpLocation | S3Location, druid_task_id: str
) -> dict[str, Any]:
    spec = copy.deepcopy(stored)
    spec["id"] = druid_task_id
    spec["spec"]["ioConfig"]["inputSource"] = input_source(location)
    return spec


def row_stats(reports: dict[str, Any] | None) -> dict[str, Any]:
    """Druid's row counts and saved parse exceptions from a task's reports."""
    if not reports:
        return {}
    payload = (reports.get("ingestionStatsAndErrors") or {}).get("payload") or {}
    totals: dict[str, Any] = payload.get("rowStats") or {}
    counts: dict[str, Any] = totals.get("buildSegments") or {}
    stats: dict[str, Any] = {
        "processed": counts.get("processed"),
        "processed_with_error": counts.get("processedWithError"),
        "unparseable": counts.get("unparseable"),
        "thrown_away": counts.get("thrownAway"),
    }
    errors = payload.get("unparseableEvents") or {}
    events = errors.get("buildSegments") if isinstance(errors, dict) else None
    if events:
        stats["parse_exceptions"] = [
            redact(str(e.get("details") or e.get("message") or e))[:500] for e in events[:20]
        ]
    if payload.get("errorMsg"):
        stats["error"] = redact(str(payload["errorMsg"]))[:2000]
    return stats


@dataclass
class DruidPhase:
    settings: Settings
    store: ObjectStore
    client: DruidClient
    signing_key: bytes
    step: Step
    clock: Callable[[], float] = time.monotonic

    async def run(self, task: IngestionTask, workdir: Path) -> dict[str, Any]:
        """Drive the task to queryable; returns Druid's report. Raises DruidUnavailable (wait and
        try again) or DruidFailed (fail the task)."""
        report: dict[str, Any] = dict(task.druid_report or {})
        druid_task = task.druid_task_id
        state = await self.client.task_state(druid_task) if druid_task else None
        if state is None:
            with tracing.span("Druid submit"):
                druid_task = await self._submit(task, workdir, report)
            state = await self.client.task_state(druid_task)
        assert druid_task is not None
        if state is None or not state.finished:
            await self.step(
                task.id, TaskStatus.DRUID_INDEXING, f"Druid task {druid_task} is running"
            )
            with tracing.span("Druid indexing", **{"druid.task_id": druid_task}):
                state = await self._until_finished(druid_task)
        report.update(row_stats(await self.client.task_reports(druid_task)))
        report["druid_status"] = state.status
        if state.status != "SUCCESS":
            raise DruidFailed(
                f"Druid task {druid_task} failed: {state.error or 'no reason given'}",
                "See the parse exceptions in druid_report; fix the file or the datasource, "
                "then retry.",
                report,
            )
        await self.step(
            task.id,
            TaskStatus.DRUID_LOADING,
            f"Druid task {druid_task} succeeded; waiting until its segments are served",
            druid_report=report,
        )
        with tracing.span("Druid loading until queryable"):
            report["load_percent"] = await self._until_loaded(task, report)
        report["druid_task_id"] = druid_task
        if report.get("rollup"):
            # How long the rollup may take to be queryable: its task reads the same rows.
            report["rollup"]["wait_seconds"] = rolled.wait_seconds(
                state.duration_ms, self.settings.druid_load_timeout_seconds
            )
        return report

    async def location(self, task: IngestionTask, workdir: Path) -> HttpLocation | S3Location:
        await ensure_copy(self.settings, self.store, task, workdir)
        key = source_key(self.settings, task)
        location = await threads.STORAGE.run(
            signed_location, self.settings, self.store, key, self.signing_key
        )
        await check_readable(location, self.settings.druid_request_timeout_seconds)
        return location

    async def _submit(self, task: IngestionTask, workdir: Path, report: dict[str, Any]) -> str:
        if task.druid_spec is None:
            raise DruidFailed("the task has no Druid spec", "Retry the task.")
        location = await self.location(task, workdir)
        druid_task = task.druid_task_id or f"ingest_{task.id}_{uuid.uuid4().hex[:8]}"
        chosen = workdir / "rollup.json"  # written by ensure_copy's time at the latest
        await self.store.get_file(rolled.choice_key(task.datasource, task.id), chosen)
        choice = rolled.fit(
            task.druid_spec, rolled.Choice.from_json(await threads.FILES.run(chosen.read_text))
        )
        report.pop(rolled.MISSING, None)
        report["rollup"] = {"task_id": rolled.rollup_task_id(druid_task), **choice.to_dict()}
        # Committed before Druid hears of them: a worker taking over finds and tracks these ids.
        await self.step(
            task.id,
            TaskStatus.DRUID_SUBMITTING,
            f"submitting Druid task {druid_task}",
            druid_task_id=druid_task,
            druid_report=report,
            druid_rollup=None,  # recorded again once this run's rollup is queryable
        )
        spec = with_text_copies(
            spec_with_input(task.druid_spec, location, druid_task), choice.texts
        )
        try:
            submitted = await self.client.submit(spec)
        except DruidRequestError as exc:
            raise DruidFailed(
                f"Druid refused the ingestion spec: {exc.message}",
                "The spec is on the task (druid_spec); check the datasource name and that the "
                "cluster has what DRUID_INPUT_FORMAT and DRUID_INPUT_SOURCE need.",
            ) from None
        return submitted

    async def _until_finished(self, druid_task: str) -> TaskState:
        while True:
            state = await self.client.task_state(druid_task)
            if state is None:
                raise DruidFailed(
                    f"Druid lost task {druid_task}", "Retry the task: it is submitted again."
                )
            if state.finished:
                return state
            await asyncio.sleep(self.settings.druid_poll_seconds)

    async def _until_loaded(self, task: IngestionTask, report: dict[str, Any]) -> float:
        assert task.druid_spec is not None and task.druid_datasource is not None
        expected = report.get("processed")
        if expected is None:
            expected = task.rows_valid
        percent, counted = await self._until_served(
            task.druid_datasource, task.druid_spec, expected, task.id, "COUNT(*)", report
        )
        report["rows_queryable"] = counted
        return percent

    async def _until_served(
        self,
        datasource: str,
        spec: dict[str, Any],
        expected: Any,
        task_id: str,
        counted_as: str,
        report: dict[str, Any] | None = None,
    ) -> tuple[float, int]:
        """Until the interval is served, the task's rows counted and the columns listed."""
        interval = spec["spec"]["dataSchema"]["granularitySpec"]["intervals"][0]
        deadline = self.clock() + self.settings.druid_load_timeout_seconds
        while True:
            percent = await self.client.load_percent(datasource, interval)
            unlisted: list[str] = []
            if percent is not None and percent >= 100.0:
                counted = await self.count(datasource, task_id, counted_as)
                if expected is None or counted >= int(expected):
                    # Its columns too: the broker's SQL schema learns a column that is new to the
                    # datasource (an evolved schema) some seconds after the segment is served.
                    unlisted = await self.unlisted(datasource, spec)
                    if not unlisted:
                        return percent, counted
            if self.clock() > deadline:
                waiting = (
                    f"; columns not in its SQL schema: {', '.join(unlisted)}" if unlisted else ""
                )
                raise DruidFailed(
                    f"Druid loaded the data but its segments were not served within "
                    f"{self.settings.druid_load_timeout_seconds:.0f} s (load {percent or 0:.0f}%"
                    f"{waiting})",
                    "Check the historicals' free space (druid.server.maxSize) and the "
                    "coordinator's load rules, then retry.",
                    report,
                )
            await asyncio.sleep(self.settings.druid_poll_seconds)

    async def unlisted(self, datasource: str, spec: dict[str, Any]) -> list[str]:
        """The spec's columns (and metrics) the broker's SQL schema does not list yet."""
        schema = spec["spec"]["dataSchema"]
        wanted = [
            str(d["name"]) if isinstance(d, dict) else str(d)
            for d in schema["dimensionsSpec"]["dimensions"] + schema.get("metricsSpec", [])
        ]
        try:
            result = await self.client.sql(
                "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS "
                "WHERE TABLE_SCHEMA = 'druid' AND TABLE_NAME = ?",
                [{"type": "VARCHAR", "value": datasource}],
            )
        except DruidRequestError:
            return wanted
        listed = {str(row[0]) for row in result.rows}
        return [name for name in wanted if name not in listed]

    async def count(self, datasource: str, task_id: str, counted_as: str = "COUNT(*)") -> int:
        """The task's rows the broker answers for; 0 while it does not know the datasource yet
        (the broker learns of new segments a moment after the coordinator reports them)."""
        try:
            result = await self.client.sql(
                f"SELECT {counted_as} FROM {quote(datasource)} WHERE {quote(TASK_COLUMN)} = ?",
                [{"type": "VARCHAR", "value": task_id}],
            )
        except DruidRequestError:
            return 0
        return int(result.rows[0][0] or 0) if result.rows else 0

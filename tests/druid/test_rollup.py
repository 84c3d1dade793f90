"""The rolled-up Druid datasource beside each raw one: loaded with every upload (appends and
replaces alike) once its raw rows are queryable (the upload succeeds first), dashboards read
from it give the raw rows' answers; until every dataset's rollup is recorded, and when a rollup
fails, dashboards read the raw rows; a worker stopped in between has its rollup finished."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from backend.analytics.catalog import DatasourceVersion, load_versions
from backend.analytics.druid_rollup import ANSWERED
from backend.db import session_scope
from backend.druid.rollup import ROWS, metric, rollup_datasource
from backend.worker.pool import WorkerPool
from backend.worker.runner import DruidAccess
from bench.generate_sales import sales_rows
from tests.conftest import Backend
from tests.druid.fixtures import DruidApp, druid_app
from tests.druid.test_pipeline import (
    DASHBOARD,
    assert_same,
    count_and_total,
    druid_sql,
    graphql,
    sales_file,
    wait_for,
    wait_rollup,
)
from tests.druid_local import LocalDruid
from tests.factories import upload

pytestmark = pytest.mark.slow


async def rollup_count_and_total(druid: LocalDruid, table: str) -> tuple[int, float]:
    rows = await druid_sql(
        druid.url, f'SELECT SUM("{ROWS}"), SUM("{metric("sum", "Total")}") FROM "{table}"'
    )
    return int(rows[0][0] or 0), float(rows[0][1] or 0.0)


async def dashboards_agree(app: DruidApp, *, from_rollup: bool = True) -> None:
    """The warehouse dashboard (read from the rollup where it covers, or from the raw rows only)
    equals the embedded one."""
    await app.client.post("/api/sigma/toggle-mode", json={"mode": "standalone"})
    standalone = await graphql(app, DASHBOARD)
    await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
    before = ANSWERED["rollup"]
    warehouse = await graphql(app, DASHBOARD)
    if from_rollup:
        assert ANSWERED["rollup"] > before, "no dashboard field was read from the rollup"
    else:
        assert ANSWERED["rollup"] == before, "a dashboard field was read from a partial rollup"
    assert_same(standalone, warehouse)


async def sales_version(app: DruidApp) -> DatasourceVersion:
    async with session_scope(app.runtime.sessions) as session:
        return (await load_versions(session))["sales"]


async def created_and_ended(druid: LocalDruid, task_id: str) -> tuple[dt.datetime, dt.datetime]:
    rows = await druid_sql(
        druid.url, "SELECT created_time, duration FROM sys.tasks WHERE task_id = ?", task_id
    )
    created = dt.datetime.fromisoformat(str(rows[0][0]).replace("Z", "+00:00"))
    return created, created + dt.timedelta(milliseconds=int(rows[0][1] or 0))


async def test_the_upload_is_queryable_before_its_rollup_which_then_serves_dashboards(
    embedded: Backend, druid: LocalDruid
) -> None:
    async with druid_app(embedded.settings, druid.url) as app:
        accepted = await upload(app.client, content=sales_file(list(sales_rows(3000, seed=7))))
        task_id = accepted.json()["task_id"]
        done = await wait_for(app, task_id, {"succeeded"})
        # Succeeded with the raw rows queryable; the rollup is not recorded yet: dashboards read
        # the raw rows meanwhile.
        assert done["druid_report"]["rows_queryable"] == 3000
        assert "rows_queryable" not in done["druid_report"]["rollup"]
        assert (await sales_version(app)).druid_rollup is None
        await dashboards_agree(app, from_rollup=False)
        recorded = await wait_rollup(app, task_id)
        assert recorded["druid_report"]["rollup"]["rows_queryable"] == 3000
        assert "rollup_missing" not in recorded["druid_report"]
        # The numbers taking few values were loaded as text too, each row's copy its number.
        assert {"Quantity", "Rating"} <= set(recorded["druid_report"]["rollup"]["texts"])
        copied = await druid_sql(
            druid.url,
            'SELECT COUNT(*) FROM "{t}" WHERE CAST("__text:Rating" AS DOUBLE) = "Rating" '
            'AND CAST("__text:Quantity" AS BIGINT) = "Quantity"'.format(t=done["druid_datasource"]),
        )
        assert copied[0][0] == 3000
        assert (await sales_version(app)).druid_rollup is not None
        await dashboards_agree(app)  # the rating distribution grouped by the text copy
        # The rollup's Druid task started only once the raw one had finished (its own cores).
        _, raw_ended = await created_and_ended(druid, done["druid_task_id"])
        rollup_created, _ = await created_and_ended(druid, f"{done['druid_task_id']}-rollup")
        assert rollup_created >= raw_ended


async def test_a_later_upload_while_a_rollup_loads_keeps_dashboards_on_raw_rows(
    embedded: Backend, druid: LocalDruid
) -> None:
    async with druid_app(embedded.settings, druid.url) as app:
        first = await upload(app.client, content=sales_file(list(sales_rows(500, seed=21))))
        await wait_for(app, first.json()["task_id"], {"succeeded"})
        second = await upload(app.client, content=sales_file(list(sales_rows(700, seed=22))))
        await wait_for(app, second.json()["task_id"], {"succeeded"})
        # The second's rollup is not recorded yet: no dashboard reads a rollup lacking its rows.
        assert (await sales_version(app)).druid_rollup is None
        await dashboards_agree(app, from_rollup=False)
        for sent in (first, second):
            await wait_rollup(app, sent.json()["task_id"])
        assert (await sales_version(app)).druid_rollup is not None
        await dashboards_agree(app)


async def test_a_worker_stopped_before_recording_the_rollup_has_it_finished_on_restart(
    embedded: Backend, druid: LocalDruid
) -> None:
    async with druid_app(embedded.settings, druid.url) as app:
        accepted = await upload(app.client, content=sales_file(list(sales_rows(2000, seed=31))))
        task_id = accepted.json()["task_id"]
        await wait_for(app, task_id, {"succeeded"})
        # The worker dies right after the upload succeeded, before its rollup is recorded.
        pool = app.runtime.workers
        assert pool is not None
        for loop in pool._loops:
            loop.cancel()
        await asyncio.gather(*pool._loops, return_exceptions=True)
        assert (await sales_version(app)).druid_rollup is None
        runtime = app.runtime
        assert runtime.druid is not None
        successor = WorkerPool(
            runtime.settings,
            runtime.sessions,
            runtime.store,
            runtime.analytics.landed,
            DruidAccess(runtime.druid, runtime.signing_key),
        )
        await successor.start()
        try:
            done = await wait_rollup(app, task_id, timeout=180)
        finally:
            await successor.stop()
        assert done["druid_report"]["rollup"]["rows_queryable"] == 2000
        assert (await sales_version(app)).druid_rollup is not None
        rolled = await druid_sql(
            druid.url,
            "SELECT task_id FROM sys.tasks WHERE datasource = ?",
            rollup_datasource(app.druid_name("sales")),
        )
        assert [row[0] for row in rolled] == [f"{done['druid_task_id']}-rollup"]
        await dashboards_agree(app)


async def segment_days(druid: LocalDruid, table: str) -> set[int]:
    """The lengths in days of the datasource's segments queries read."""
    rows = await druid_sql(
        druid.url,
        'SELECT "start", "end" FROM sys.segments '
        "WHERE datasource = ? AND is_published = 1 AND is_overshadowed = 0",
        table,
    )
    return {
        (dt.datetime.fromisoformat(end[:19]) - dt.datetime.fromisoformat(start[:19])).days
        for start, end in rows
    }


async def test_appends_and_a_replace_keep_the_rollup_equal_to_the_raw_rows(
    embedded: Backend, druid: LocalDruid
) -> None:
    first, second = list(sales_rows(300, seed=11)), list(sales_rows(200, seed=12))
    day = first[0][10]
    replacement = [r for r in sales_rows(400, seed=13) if r[10] == day][:5]
    async with druid_app(embedded.settings, druid.url) as app:
        raw = app.druid_name("sales")
        for rows, mode in ((first, "append"), (second, "append"), (replacement, "replace")):
            accepted = await upload(app.client, content=sales_file(rows), extra={"mode": mode})
            await wait_for(app, accepted.json()["task_id"], {"succeeded"})
            done = await wait_rollup(app, accepted.json()["task_id"])
            report = done["druid_report"]
            assert report.get("rollup_missing") is None, report
            assert report["rollup"]["task_id"] == (f"{done['druid_task_id']}-rollup")
            count, total = await count_and_total(druid, raw)
            assert await rollup_count_and_total(druid, rollup_datasource(raw)) == (
                count,
                pytest.approx(total, rel=1e-9),
            )
            await dashboards_agree(app)
            if mode == "append":  # rolled up into month segments where the raw rows have days
                assert await segment_days(druid, raw) == {1}
                assert await segment_days(druid, rollup_datasource(raw)) <= {28, 29, 30, 31}
        # The replace's day segment hides that day of the rollup's month segment.
        assert 1 in await segment_days(druid, rollup_datasource(raw))
        kept = [r for r in first + second if r[10] != day]
        assert count == len(kept) + len(replacement)


async def test_a_failed_rollup_leaves_the_upload_succeeded_on_raw_rows(
    embedded: Backend, druid: LocalDruid
) -> None:
    async with druid_app(embedded.settings, druid.url) as app:
        accepted = await upload(app.client, content=sales_file(list(sales_rows(20_000, seed=5))))
        task_id = accepted.json()["task_id"]
        done = await wait_for(app, task_id, {"succeeded"})
        # An operator stops the rollup's Druid task (submitted once the upload succeeded).
        rollup_task = f"{done['druid_task_id']}-rollup"
        for _ in range(600):
            stopped = await app.client.post(
                f"{druid.url}/druid/indexer/v1/task/{rollup_task}/shutdown"
            )
            if stopped.status_code == 200:
                break
            await asyncio.sleep(0.05)
        done = await wait_rollup(app, task_id)
        assert done["status"] == "succeeded"
        assert done["druid_report"]["rows_queryable"] == 20_000
        assert done["druid_report"]["rollup_missing"].startswith(
            "The rolled-up copy of these rows is missing"
        )
        assert (await sales_version(app)).druid_rollup is None
        await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
        before = ANSWERED["rollup"]
        warehouse = await graphql(app, "{ salesSummary { transactions } }")
        assert warehouse["salesSummary"]["transactions"] == 20_000
        assert ANSWERED["rollup"] == before  # raw rows only

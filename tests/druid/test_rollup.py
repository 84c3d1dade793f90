"""The rolled-up Druid datasource beside each raw one: loaded with every upload (appends and
replaces alike), dashboards read from it give the raw rows' answers, and a rollup that fails
leaves the upload succeeded with dashboards on the raw rows."""

from __future__ import annotations

import asyncio

import pytest

from backend.analytics.catalog import load_versions
from backend.analytics.druid_rollup import ANSWERED
from backend.db import session_scope
from backend.druid.rollup import ROWS, metric, rollup_datasource
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
)
from tests.druid_local import LocalDruid
from tests.factories import upload

pytestmark = pytest.mark.slow


async def rollup_count_and_total(druid: LocalDruid, table: str) -> tuple[int, float]:
    rows = await druid_sql(
        druid.url, f'SELECT SUM("{ROWS}"), SUM("{metric("sum", "Total")}") FROM "{table}"'
    )
    return int(rows[0][0] or 0), float(rows[0][1] or 0.0)


async def dashboards_agree(app: DruidApp) -> None:
    """The warehouse dashboard (read from the rollup where it covers) equals the embedded one."""
    await app.client.post("/api/sigma/toggle-mode", json={"mode": "standalone"})
    standalone = await graphql(app, DASHBOARD)
    await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
    before = ANSWERED["rollup"]
    warehouse = await graphql(app, DASHBOARD)
    assert ANSWERED["rollup"] > before, "no dashboard field was read from the rollup"
    assert_same(standalone, warehouse)


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
            done = await wait_for(app, accepted.json()["task_id"], {"succeeded"})
            report = done["druid_report"]
            assert report.get("rollup_missing") is None, report
            assert report["rollup"]["task_id"] == (f"{done['druid_task_id']}-rollup")
            count, total = await count_and_total(druid, raw)
            assert await rollup_count_and_total(druid, rollup_datasource(raw)) == (
                count,
                pytest.approx(total, rel=1e-9),
            )
            await dashboards_agree(app)
        kept = [r for r in first + second if r[10] != day]
        assert count == len(kept) + len(replacement)


async def test_a_failed_rollup_leaves_the_upload_succeeded_on_raw_rows(
    embedded: Backend, druid: LocalDruid
) -> None:
    async with druid_app(embedded.settings, druid.url) as app:
        accepted = await upload(app.client, content=sales_file(list(sales_rows(20_000, seed=5))))
        task_id = accepted.json()["task_id"]
        # An operator stops the rollup's Druid task while it runs.
        while True:
            body = (await app.client.get(f"/api/ingest/status/{task_id}")).json()
            if body["druid_task_id"]:
                break
            await asyncio.sleep(0.05)
        rollup_task = f"{body['druid_task_id']}-rollup"
        for _ in range(200):
            stopped = await app.client.post(
                f"{druid.url}/druid/indexer/v1/task/{rollup_task}/shutdown"
            )
            if stopped.status_code == 200:
                break
            await asyncio.sleep(0.05)
        done = await wait_for(app, task_id, {"succeeded"})
        assert done["druid_report"]["rows_queryable"] == 20_000
        assert done["druid_report"]["rollup_missing"].startswith(
            "The rolled-up copy of these rows is missing"
        )
        async with session_scope(app.runtime.sessions) as session:
            version = (await load_versions(session))["sales"]
        assert version.druid_rollup is None
        await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
        before = ANSWERED["rollup"]
        warehouse = await graphql(app, "{ salesSummary { transactions } }")
        assert warehouse["salesSummary"]["transactions"] == 20_000
        assert ANSWERED["rollup"] == before  # raw rows only

"""Uploads loaded into a real Druid (started once per session from Maven Central's jars) and
tracked until queryable; dashboards served from Druid in warehouse mode; the bad cases."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.druid.rollup import rollup_datasource
from backend.worker.pool import WorkerPool
from backend.worker.runner import DruidAccess
from bench.generate_sales import HEADER, sales_rows
from tests.conftest import Backend
from tests.druid.fixtures import DruidApp, Proxy, druid_app
from tests.druid_local import LocalDruid
from tests.factories import upload

pytestmark = pytest.mark.slow
DATA = Path("data.csv").read_bytes()
DRUID_PHASES = ["druid_submitting", "druid_indexing", "druid_loading"]


async def wait_for(
    app: DruidApp, task_id: str, wanted: set[str], timeout: float = 240
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, Any] = (await app.client.get(f"/api/ingest/status/{task_id}")).json()
        if body["status"] in wanted:
            return body
        if body["status"] in {"succeeded", "failed", "cancelled"} - wanted:
            raise AssertionError(f"task ended {body['status']}: {json.dumps(body)[:3000]}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"task still {body['status']} after {timeout}s")
        await asyncio.sleep(0.2)


async def wait_rollup(app: DruidApp, task_id: str, timeout: float = 240) -> dict[str, Any]:
    """The succeeded task once its rolled-up rows are recorded (or said to be missing)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body: dict[str, Any] = (await app.client.get(f"/api/ingest/status/{task_id}")).json()
        report = body.get("druid_report") or {}
        if "rows_queryable" in (report.get("rollup") or {}) or "rollup_missing" in report:
            assert body["status"] == "succeeded", body
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"rollup still unrecorded after {timeout}s: {report}")
        await asyncio.sleep(0.2)


async def druid_sql(url: str, query: str, *values: Any) -> list[list[Any]]:
    parameters = [
        {"type": "VARCHAR" if isinstance(v, str) else "DOUBLE", "value": v} for v in values
    ]
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(
            f"{url}/druid/v2/sql",
            json={"query": query, "parameters": parameters, "resultFormat": "array"},
        )
    assert response.status_code == 200, response.text
    rows: list[list[Any]] = response.json()
    return rows


async def count_and_total(druid: LocalDruid, table: str) -> tuple[int, float]:
    rows = await druid_sql(druid.url, f'SELECT COUNT(*), SUM("Total") FROM "{table}"')
    return int(rows[0][0]), float(rows[0][1] or 0.0)


async def graphql(app: DruidApp, query: str) -> dict[str, Any]:
    response = await app.client.post("/graphql", json={"query": query})
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


def sales_file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    out.write(",".join(HEADER) + "\n")
    for row in rows:
        out.write(",".join(row) + "\n")
    return out.getvalue().encode()


DASHBOARD = """{
  salesSummary { totalSales grossIncome transactions unitsSold averageBasket averageRating
                 previous { totalSales } }
  salesTrend(granularity: WEEK) { period totalSales transactions }
  salesByBranch { key totalSales transactions unitsSold share }
  salesByProductLine { key totalSales grossIncome }
  profitability(by: MONTH) { key revenue cogs grossIncome margin }
  topProductLines(limit: 3, metric: RATING) { productLine value }
  ratingDistribution(bins: 5) { lower upper count }
  salesHeatmap { dayOfWeek hour totalSales transactions }
  rowCount
  rows(first: 3) { edges { node } }
}"""


def assert_same(left: Any, right: Any, path: str = "") -> None:
    """Equal, with floats to 1e-9 relative (sums may add up in another order)."""
    if isinstance(left, dict):
        assert isinstance(right, dict) and left.keys() == right.keys(), path
        for key in left:
            assert_same(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list):
        assert isinstance(right, list) and len(left) == len(right), path
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{path}[{index}]")
    elif isinstance(left, float) or isinstance(right, float):
        assert right == pytest.approx(left, rel=1e-9), path
    else:
        assert left == right, path


async def test_an_upload_becomes_queryable_in_druid_and_dashboards_agree(
    backend: Backend, druid: LocalDruid
) -> None:
    async with druid_app(backend.settings, druid.url) as app:
        accepted = await upload(app.client, content=DATA)
        assert accepted.status_code == 202, accepted.text
        task = await wait_for(app, accepted.json()["task_id"], {"succeeded"})

        table = app.druid_name("sales")
        statuses = [e["status"] for e in task["events"]]
        moves = [s for s in statuses if s in DRUID_PHASES + ["succeeded"]]
        moves = [s for i, s in enumerate(moves) if i == 0 or moves[i - 1] != s]
        assert moves[-4:] == [*DRUID_PHASES, "succeeded"]
        # The rolled-up datasource is loaded after the upload is queryable.
        rolled = (await wait_rollup(app, task["task_id"]))["druid_report"]["rollup"]
        assert rolled["rows_queryable"] == 1000
        assert task["druid_task_id"].startswith(f"ingest_{task['task_id']}_")
        assert task["events"][-1]["message"].endswith(f"Druid task {task['druid_task_id']}")
        assert task["druid_datasource"] == table
        report = task["druid_report"]
        assert (report["processed"], report["rows_queryable"], report["load_percent"]) == (
            1000,
            1000,
            100.0,
        )
        assert report["unparseable"] == 0 and report["thrown_away"] == 0
        assert task["data_as_of"] is not None

        # The stored spec says where Druid reads, never with a usable signature.
        text = json.dumps(task)
        uri = task["druid_spec"]["spec"]["ioConfig"]["inputSource"]["uris"][0]
        assert "REDACTED" in uri and "X-Amz-Signature=" not in text.replace("=REDACTED", "")
        assert "signature=" not in text.replace("signature=REDACTED", "")

        # Druid SQL on the router counts what the embedded engine counts.
        embedded = await graphql(app, "{ salesSummary { totalSales transactions } }")
        count, total = await count_and_total(druid, table)
        assert count == embedded["salesSummary"]["transactions"] == 1000
        assert total == pytest.approx(embedded["salesSummary"]["totalSales"], rel=1e-9)

        standalone = await graphql(app, DASHBOARD)
        switched = await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
        assert switched.status_code == 200, switched.text
        status = (await app.client.get("/api/sigma/status")).json()["data"]
        assert (status["engine"], status["operational"]) == ("druid", True)
        warehouse = await graphql(app, DASHBOARD)
        assert_same(standalone, warehouse)


async def test_druid_unreachable_at_submit_waits_then_loads(
    embedded: Backend, druid: LocalDruid
) -> None:
    router = urllib.parse.urlsplit(druid.url)
    proxy = Proxy(router.hostname or "127.0.0.1", router.port or 80)
    async with druid_app(embedded.settings, proxy.url) as app:  # Druid "down": nothing listens
        accepted = await upload(app.client, content=DATA)
        task_id = accepted.json()["task_id"]
        waiting = await wait_for(app, task_id, {"waiting_for_druid"}, timeout=60)
        assert waiting["druid_report"]["waits"] >= 1 and waiting["error"] is None
        # Meanwhile the data is valid and served by the embedded engine.
        served = await graphql(app, "{ rowCount }")
        assert served["rowCount"] == 1000
        await proxy.start()  # Druid is back
        try:
            done = await wait_for(app, task_id, {"succeeded"})
        finally:
            await proxy.cut()
        assert done["druid_report"]["rows_queryable"] == 1000
        assert done["attempts"] == 1  # waiting out an outage is not a failed attempt


async def test_druid_lost_mid_task_resumes_tracking_the_same_druid_task(
    embedded: Backend, druid: LocalDruid
) -> None:
    router = urllib.parse.urlsplit(druid.url)
    proxy = Proxy(router.hostname or "127.0.0.1", router.port or 80)
    await proxy.start()
    async with druid_app(embedded.settings, proxy.url) as app:
        accepted = await upload(app.client, content=DATA)
        task_id = accepted.json()["task_id"]
        indexing = await wait_for(app, task_id, {"druid_indexing", "druid_loading"}, timeout=120)
        await proxy.cut()
        waiting = await wait_for(app, task_id, {"waiting_for_druid"}, timeout=60)
        await proxy.start()
        try:
            done = await wait_for(app, task_id, {"succeeded"})
        finally:
            await proxy.cut()
        assert indexing["druid_task_id"] == waiting["druid_task_id"] == done["druid_task_id"]
        tasks = await druid_sql(
            druid.url,
            "SELECT task_id FROM sys.tasks WHERE datasource = ?",
            app.druid_name("sales"),
        )
        assert [row[0] for row in tasks] == [done["druid_task_id"]]  # submitted once


async def test_a_spec_druid_refuses_fails_the_task_with_druids_message(
    embedded: Backend, druid: LocalDruid
) -> None:
    # A core Druid has no Parquet extension: it refuses the input format by name.
    async with druid_app(embedded.settings, druid.url, druid_input_format="parquet") as app:
        accepted = await upload(app.client, content=DATA)
        failed = await wait_for(app, accepted.json()["task_id"], {"failed"}, timeout=120)
    assert failed["error"]["code"] == "druid_failed"
    assert "Druid refused the ingestion spec" in failed["error"]["message"]
    assert "parquet" in failed["error"]["message"]
    assert failed["report"]["rows_valid"] == 1000  # the validation report is kept


async def test_an_unreadable_dataset_url_fails_fast_without_its_signature(
    embedded: Backend, druid: LocalDruid
) -> None:
    # under /api/: a path outside it is the web app's client route (index.html), see the notes
    async with druid_app(embedded.settings, druid.url, data_path="/api/elsewhere") as app:
        accepted = await upload(app.client, content=DATA)
        failed = await wait_for(app, accepted.json()["task_id"], {"failed"}, timeout=60)
    message = failed["error"]["message"]
    assert "answers 404" in message and "signature=REDACTED" in message
    assert failed["druid_task_id"] is None  # nothing was submitted


async def test_replace_mode_replaces_the_upload_interval_in_both_engines(
    embedded: Backend, druid: LocalDruid
) -> None:
    first = list(sales_rows(300, seed=7))
    day = first[0][10]  # a day that has rows
    replacement = [r for r in sales_rows(400, seed=8) if r[10] == day][:5]
    assert replacement
    kept = [r for r in first if r[10] != day]
    async with druid_app(embedded.settings, druid.url) as app:
        for content, mode in ((sales_file(first), "append"), (sales_file(replacement), "replace")):
            accepted = await upload(app.client, content=content, extra={"mode": mode})
            await wait_for(app, accepted.json()["task_id"], {"succeeded"})
        # A replace where nothing was before: it only adds.
        empty_day = list(sales_rows(1, seed=9))
        empty_day[0][10] = "12/25/2018"
        accepted = await upload(
            app.client, content=sales_file(empty_day), extra={"mode": "replace"}
        )
        await wait_for(app, accepted.json()["task_id"], {"succeeded"})

        expected = len(kept) + len(replacement) + 1
        expected_total = sum(float(r[9]) for r in kept + replacement + empty_day)
        count, total = await count_and_total(druid, app.druid_name("sales"))
        assert (count, total) == (expected, pytest.approx(expected_total, rel=1e-9))
        standalone = await graphql(app, "{ rowCount salesSummary { totalSales } }")
        assert standalone["rowCount"] == expected
        await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
        warehouse = await graphql(app, "{ rowCount salesSummary { totalSales } }")
        assert_same(standalone, warehouse)


async def test_two_uploads_to_one_datasource_at_once_both_load(
    embedded: Backend, druid: LocalDruid
) -> None:
    one, two = sales_file(list(sales_rows(40, seed=3))), sales_file(list(sales_rows(60, seed=4)))
    async with druid_app(embedded.settings, druid.url) as app:
        sent = await asyncio.gather(*(upload(app.client, content=c) for c in (one, two)))
        done = await asyncio.gather(
            *(wait_for(app, r.json()["task_id"], {"succeeded"}) for r in sent)
        )
        assert {d["druid_report"]["rows_queryable"] for d in done} == {40, 60}
        count, _ = await count_and_total(druid, app.druid_name("sales"))
        assert count == 100


async def test_a_worker_taken_over_mid_druid_task_does_not_submit_twice(
    embedded: Backend, druid: LocalDruid
) -> None:
    async with druid_app(embedded.settings, druid.url, worker_lease_seconds=3.0) as app:
        accepted = await upload(app.client, content=DATA)
        task_id = accepted.json()["task_id"]
        await wait_for(app, task_id, {"druid_indexing"}, timeout=120)
        # The worker dies holding the lease (no clean release): stop its loops only.
        pool = app.runtime.workers
        assert pool is not None
        for loop in pool._loops:
            loop.cancel()
        await asyncio.gather(*pool._loops, return_exceptions=True)
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
            await wait_for(app, task_id, {"succeeded"})
            done = await wait_rollup(app, task_id)
        finally:
            await successor.stop()
        messages = [e["message"] for e in done["events"]]
        assert any("Druid loading resumed" in m for m in messages), messages
        tasks = await druid_sql(
            druid.url,
            "SELECT task_id FROM sys.tasks WHERE datasource = ?",
            app.druid_name("sales"),
        )
        assert [row[0] for row in tasks] == [done["druid_task_id"]]
        rolled = await druid_sql(
            druid.url,
            "SELECT task_id FROM sys.tasks WHERE datasource = ?",
            rollup_datasource(app.druid_name("sales")),
        )
        assert [row[0] for row in rolled] == [f"{done['druid_task_id']}-rollup"]
        assert "rollup_missing" not in done["druid_report"]


async def test_dropping_a_datasource_drops_its_druid_segments(
    embedded: Backend, druid: LocalDruid
) -> None:
    async with druid_app(embedded.settings, druid.url) as app:
        accepted = await upload(app.client, content=DATA, datasource="sales_drop")
        await wait_for(app, accepted.json()["task_id"], {"succeeded"})
        table = app.druid_name("sales_drop")
        assert (await count_and_total(druid, table))[0] == 1000

        dropped = await app.client.delete("/api/datasources/sales_drop")

        assert dropped.status_code == 200, dropped.text
        assert dropped.json()["druid_segments_dropped"] >= 1, dropped.text
        assert dropped.json()["druid_error"] is None
        deadline = asyncio.get_running_loop().time() + 120
        for name in (table, rollup_datasource(table)):  # the rolled-up rows go too
            while True:  # the broker stops serving unused segments within a coordinator cycle
                async with httpx.AsyncClient(timeout=60) as client:
                    answer = await client.post(
                        f"{druid.url}/druid/v2/sql",
                        json={"query": f'SELECT COUNT(*) FROM "{name}"', "resultFormat": "array"},
                    )
                if answer.status_code != 200 or answer.json() in ([], [[0]]):
                    break
                assert asyncio.get_running_loop().time() < deadline, answer.text
                await asyncio.sleep(2)


async def test_an_evolved_schema_loads_into_druid_and_both_engines_agree(
    embedded: Backend, druid: LocalDruid
) -> None:
    """A column added and an integer column widened by evolve=...: Druid takes the new
    version's rows beside the old ones, and its answers equal the embedded engine's."""
    first = b"day,amount,label\n2024-01-01,1,x\n2024-01-02,2,y\n"
    evolved = b"day,amount,label,discount\n2024-01-03,3.5,z,0.5\n2024-01-04,4,w,1.5\n"
    query = """{ analytics(query: {datasource: "readings", measures: [{aggregate: COUNT},
        {aggregate: SUM, column: "amount"}, {aggregate: SUM, column: "discount"},
        {aggregate: COUNT, column: "discount"}]}) { rows } }"""
    async with druid_app(embedded.settings, druid.url) as app:
        for content, evolve in ((first, ""), (evolved, "add_columns,widen")):
            accepted = await upload(
                app.client, content=content, datasource="readings", extra={"evolve": evolve}
            )
            await wait_for(app, accepted.json()["task_id"], {"succeeded"})
        standalone = await graphql(app, query)
        assert standalone["analytics"]["rows"] == [[4, 10.5, 2.0, 2]]
        await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
        warehouse = await graphql(app, query)
        assert warehouse == standalone

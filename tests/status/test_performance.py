"""Performance figures are measured on the running backends (SQLite or PostgreSQL, folder or S3)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import App
from tests.factories import sales_csv, upload, wait_for_task


async def data(app: App, path: str) -> Any:
    response = await app.client.get(path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    return body["data"]


def pg_url(app: App) -> str:
    return app.backend.settings.database_url.replace("postgresql+asyncpg", "postgresql")


async def test_data_sources_report_measured_facts(app: App) -> None:
    content = sales_csv(rows=10)
    await wait_for_task(app.client, (await upload(app.client, content=content)).json()["task_id"])
    found = {d["id"]: d for d in await data(app, "/api/performance/data-sources")}

    metadata, storage = found["metadata"], found["storage"]
    assert metadata["status"] == "up" and metadata["version"] and metadata["size_bytes"] > 0
    assert metadata["response_times"]["checks"] >= 1 and metadata["response_times"]["min_ms"] >= 0
    if app.backend.name == "embedded":
        assert (
            metadata["type"] == "sqlite"
            and metadata["uptime_seconds"] is None
            and metadata["uptime_reason"]
        )
    else:
        assert metadata["type"] == "postgresql" and metadata["uptime_seconds"] > 0
        assert metadata["connections"]["total"] >= 1
    assert storage["status"] == "up" and storage["size_bytes"] >= len(content)
    assert found["druid"] == {
        "id": "druid",
        "type": "druid",
        "status": "not_configured",
        "reason": "DRUID_URL is not set",
    }


async def test_pipelines_summarise_each_datasource_history(app: App) -> None:
    good = (await upload(app.client, content=sales_csv(rows=5))).json()["task_id"]
    bad = (await upload(app.client, content=b"PAR1" + bytes(300), filename="x.parquet")).json()[
        "task_id"
    ]
    for task_id in (good, bad):
        await wait_for_task(app.client, task_id)

    (sales,) = await data(app, "/api/performance/pipelines")
    assert sales["datasource"] == "sales" and sales["runs"] == 2
    assert sales["by_status"] == {"succeeded": 1, "failed": 1} and sales["success_rate"] == 0.5
    assert sales["rows_loaded"] == 5
    succeeded = next(r for r in sales["recent"] if r["task_id"] == good)
    stages = succeeded["stages_seconds"]
    assert all(
        stages[s] is not None and stages[s] >= 0 for s in ("queued", "validating", "loading")
    )
    # Druid is not configured: its stages are not reached (null, not a made-up zero).
    assert [stages[s] for s in ("druid_submitting", "druid_indexing", "druid_loading")] == [
        None
    ] * 3


async def test_application_metrics_and_prometheus_text(app: App) -> None:
    await upload(app.client, content=sales_csv(rows=2))
    await app.client.get("/api/ingest/tasks")
    stats = await data(app, "/api/performance/application")

    assert stats["requests"] >= 2 and stats["uptime_seconds"] > 0
    route = stats["routes"]["POST /api/ingest/upload"]
    assert route["requests"] == 1 and route["errors"] == 0 and route["latency_ms"]["p50"] > 0
    assert stats["process"]["rss_bytes"] > 0 and stats["process"]["cpu_user_seconds"] >= 0
    assert any("ready" in r["message"] for r in stats["recent_logs"])
    exported = await app.client.get("/metrics")
    assert exported.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(exported.text)}
    uploads = [
        s
        for s in families["http_server_request_duration_seconds"].samples
        if s.name.endswith("_count") and s.labels["http_route"] == "/api/ingest/upload"
    ]
    assert [(s.labels["http_response_status_code"], s.value) for s in uploads] == [("202", 1.0)]
    # the page and Prometheus read one registry: the same count
    assert route["requests"] == sum(s.value for s in uploads)
    assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert families["ingest_upload_bytes"].samples[0].value == len(sales_csv(rows=2))


async def test_metrics_labels_never_take_a_raw_path_or_an_id(app: App) -> None:
    """Label values come from fixed sets: route templates, methods, status codes, states,
    stages, fields. A task id, a datasource name or an unknown path never becomes one."""
    accepted = (await upload(app.client, content=sales_csv(rows=3, seed=5))).json()
    task_id = accepted["task_id"]
    await wait_for_task(app.client, task_id)
    await app.client.get(f"/api/ingest/status/{task_id}")
    await app.client.get("/api/no-such-route/8d1f0c2a9b")
    await app.client.request("BREW", "/api/ingest/tasks")
    await app.client.post("/graphql", json={"query": "{ salesSummary { totalSales } }"})
    await app.client.post("/graphql", json={"query": "{ salesSummary { totalSales } }"})

    text = (await app.client.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}

    values = {v for f in families.values() for s in f.samples for v in s.labels.values()}
    assert not [v for v in values if task_id in v or "8d1f0c2a9b" in v or "no-such" in v]
    routes = {
        s.labels["http_route"] for s in families["http_server_request_duration_seconds"].samples
    }
    assert {"/api/ingest/status/{task_id}", "/graphql"} <= routes  # templates only
    methods = {
        s.labels["http_request_method"]
        for s in families["http_server_request_duration_seconds"].samples
    }
    assert "BREW" not in methods and "OTHER" in methods
    tasks = {s.labels["status"]: s.value for s in families["ingest_tasks"].samples}
    assert tasks.get("succeeded") == 1.0
    stages = {s.labels["stage"] for s in families["ingest_stage_duration_seconds"].samples}
    assert {"validating", "loading"} <= stages
    cache = {s.labels["result"]: s.value for s in families["analytics_cache_requests"].samples}
    assert cache.get("hit", 0) >= 1 and cache.get("miss", 0) >= 1
    fields = {s.labels["field"] for s in families["analytics_query_duration_seconds"].samples}
    assert "salesSummary" in fields
    assert families["ingest_queue_depth"].samples[0].value == 0


async def test_a_long_query_shows_in_active_queries_on_postgresql(app: App) -> None:
    if app.backend.name == "embedded":
        result = await data(app, "/api/performance/data-sources/metadata/active-queries")
        assert result["available"] is False and "SQLite" in result["reason"]
        return
    connection = await asyncpg.connect(pg_url(app))
    sleeper = asyncio.create_task(connection.execute("SELECT pg_sleep(3)"))
    try:
        for _ in range(50):
            result = await data(app, "/api/performance/data-sources/metadata/active-queries")
            sleeping = [q for q in result["queries"] if "pg_sleep" in q["query"]]
            if sleeping:
                break
            await asyncio.sleep(0.05)
        assert (
            sleeping and sleeping[0]["state"] == "active" and sleeping[0]["duration_seconds"] >= 0
        )
        assert not any("pg_stat_activity" in q["query"] for q in result["queries"])  # not our probe
    finally:
        sleeper.cancel()
        with pytest.raises((asyncio.CancelledError, asyncpg.PostgresError)):
            await sleeper
        await connection.close()


async def test_slow_queries_need_pg_stat_statements_and_then_show_the_slow_one(app: App) -> None:
    before = await data(app, "/api/performance/data-sources/metadata/slow-queries")
    assert before["available"] is False
    if app.backend.name == "embedded":
        assert "PostgreSQL" in before["reason"]
        return
    assert "CREATE EXTENSION pg_stat_statements" in before["reason"]
    connection = await asyncpg.connect(pg_url(app))
    try:
        await connection.execute("CREATE EXTENSION pg_stat_statements")
        await connection.execute(
            "SELECT count(*) FROM generate_series(1, 3000000) AS s, pg_sleep(0.2)"
        )
    finally:
        await connection.close()
    after = await data(app, "/api/performance/data-sources/metadata/slow-queries")
    assert after["available"] is True
    slow = next(q for q in after["queries"] if "generate_series" in q["query"])
    assert slow["mean_ms"] >= 200 and slow["calls"] == 1
    assert any("WHERE" in r for r in slow["recommendations"])


async def test_the_same_figures_through_graphql(app: App) -> None:
    await wait_for_task(
        app.client, (await upload(app.client, content=sales_csv(rows=3))).json()["task_id"]
    )
    response = await app.client.post(
        "/graphql",
        json={
            "query": "{ dataSources { id } pipelines { runs } application { requests } "
            'activeQueries { available } slowQueries(source: "storage") { available } }'
        },
    )
    result = response.json()["data"]
    assert [d["id"] for d in result["dataSources"]] == ["metadata", "storage", "druid"]
    assert result["pipelines"][0]["runs"] == 1
    assert result["application"]["requests"] >= 1
    assert result["slowQueries"]["available"] is False


TYPED_QUERY = """{
  dataSources { id type status reason sizeBytes uptimeSeconds uptimeReason
                connections { total active max } connectionsReason responseTimes { checks } }
  pipelines { datasource runs byStatus { status count } successRate rowsLoaded
              recent { taskId status durationSeconds stages { stage seconds } rowsValid } }
  application { requests errors routes { route requests latencyMs { p50 } }
                process { cpuUserSeconds rssBytes rssReason } }
  activeQueries { available reason queries { __typename } }
  slowQueries { available reason queries { query calls meanMs recommendations } }
}"""


async def test_graphql_gives_the_figures_as_typed_fields_with_their_reasons(app: App) -> None:
    task_id = (await upload(app.client, content=sales_csv(rows=4))).json()["task_id"]
    await wait_for_task(app.client, task_id)
    answer = (await app.client.post("/graphql", json={"query": TYPED_QUERY})).json()
    assert "errors" not in answer, answer
    result = answer["data"]
    found = {d["id"]: d for d in result["dataSources"]}
    metadata, druid = found["metadata"], found["druid"]
    assert metadata["status"] == "up" and metadata["responseTimes"]["checks"] >= 1
    if app.backend.name == "embedded":
        assert metadata["connections"] is None and metadata["connectionsReason"]
        assert metadata["uptimeSeconds"] is None and metadata["uptimeReason"]
        assert result["activeQueries"] == {
            "available": False,
            "reason": "the metadata database is SQLite, which has no view of running queries",
            "queries": [],
        }
        assert result["slowQueries"]["available"] is False and result["slowQueries"]["reason"]
    else:
        assert metadata["connections"]["total"] >= 1 and metadata["connectionsReason"] is None
        assert result["activeQueries"]["available"] is True
    assert druid["status"] == "not_configured" and druid["reason"] == "DRUID_URL is not set"
    (sales,) = result["pipelines"]
    assert sales["runs"] == 1 and sales["byStatus"] == [{"status": "SUCCEEDED", "count": 1}]
    assert sales["successRate"] == 1 and sales["rowsLoaded"] == 4
    (run,) = sales["recent"]
    assert run["taskId"] == task_id and run["rowsValid"] == 4 and run["durationSeconds"] >= 0
    stages = {s["stage"]: s["seconds"] for s in run["stages"]}
    assert stages["loading"] is not None and stages["druid_loading"] is None
    application = result["application"]
    assert application["requests"] >= 1 and application["process"]["cpuUserSeconds"] >= 0
    assert any(r["route"] == "POST /api/ingest/upload" for r in application["routes"])

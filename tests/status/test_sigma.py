"""Sigma mode (persisted, refused when it cannot work), capabilities, and the audit log."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from typing import Any

import httpx

from backend.main import create_app
from tests.conftest import App, Backend, app_for
from tests.factories import sales_csv, upload, wait_for_task


async def gql(app: App, query: str) -> dict[str, Any]:
    response = await app.client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_standalone_by_default_and_status_says_what_is_served(app: App) -> None:
    await wait_for_task(
        app.client, (await upload(app.client, content=sales_csv(rows=12))).json()["task_id"]
    )
    body = (await app.client.get("/api/sigma/status")).json()

    assert body["status"] == "success"
    status = body["data"]
    assert (status["mode"], status["operational"], status["engine"]) == (
        "standalone",
        True,
        "embedded",
    )
    assert status["datasources"] == 1 and status["rows_served"] == 12
    assert status["engine_latency_ms"] >= 0
    assert status["last_change"] == {"mode": "standalone", "changed_at": None, "changed_by": None}


async def test_warehouse_is_refused_without_druid_with_the_reason(app: App) -> None:
    rest = await app.client.post("/api/sigma/toggle-mode", json={"mode": "warehouse"})
    assert rest.status_code == 409 and "DRUID_URL is not set" in rest.json()["error"]

    graphql = await gql(app, "mutation { setSigmaMode(mode: WAREHOUSE) { mode } }")
    assert graphql["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert (await app.client.get("/api/sigma/status")).json()["data"]["mode"] == "standalone"
    logged = (
        await app.client.get("/api/access-logs", params={"action": "sigma_mode_changed"})
    ).json()["data"]
    assert logged["total"] == 0  # refused changes change nothing


async def test_a_mode_change_is_persisted_across_restarts_and_audited(app: App) -> None:
    changed = (
        await gql(app, "mutation { setSigmaMode(mode: STANDALONE) { mode changedAt changedBy } }")
    )["data"]["setSigmaMode"]
    assert (
        changed["mode"] == "STANDALONE"
        and changed["changedBy"].startswith("test-admin (token:")
        and changed["changedAt"]
    )

    restarted = create_app(app.backend.settings, run_workers=False)
    async with restarted.router.lifespan_context(restarted):
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=app.client.headers
        ) as client:
            status = (await client.get("/api/sigma/status")).json()["data"]
    assert status["last_change"]["changed_at"] is not None
    assert status["last_change"]["changed_by"] == changed["changedBy"]


async def test_capabilities_are_measured_for_this_installation(app: App) -> None:
    found = {c["name"]: c for c in (await app.client.get("/api/sigma/capabilities")).json()["data"]}

    assert found["upload_formats"]["available"] and found["validation"]["available"]
    assert found["druid_sql"]["available"] is False and "DRUID_URL" in found["druid_sql"]["reason"]
    if app.backend.name == "embedded":
        assert (
            found["s3_storage"]["available"] is False
            and "local folder" in found["s3_storage"]["reason"]
        )
        assert found["postgresql_statistics"]["reason"] == "the metadata database is SQLite"
    else:
        assert found["s3_storage"]["available"] is True
        assert "CREATE EXTENSION pg_stat_statements" in found["postgresql_statistics"]["reason"]


async def test_uploads_retries_and_cancels_are_in_the_access_log(app: App) -> None:
    assert app.runtime.workers is not None
    await app.runtime.workers.stop()
    task_id = (await upload(app.client, content=sales_csv(rows=3))).json()["task_id"]
    await app.client.post(f"/api/ingest/tasks/{task_id}/cancel")
    await app.client.post(f"/api/ingest/tasks/{task_id}/retry")

    page = (await app.client.get("/api/access-logs", params={"limit": 2})).json()["data"]
    assert page["total"] == 3 and len(page["items"]) == 2
    assert [e["action"] for e in page["items"]] == ["retry", "cancel"]
    assert all(
        e["actor"].startswith("test-admin (token:") and e["target"] == task_id
        for e in page["items"]
    )

    graphql = await gql(
        app, '{ accessLogs(action: "upload") { total items { action target detail } } }'
    )
    (entry,) = graphql["data"]["accessLogs"]["items"]
    assert entry["target"] == task_id and entry["detail"]["datasource"] == "sales"


async def test_an_open_status_page_does_not_ask_druid_at_every_refresh(backend: Backend) -> None:
    # A Status tab asks every few seconds; each answer used to probe Druid (two requests of up to
    # 5 s each) beside health's own probe. A counting stand-in for Druid's router says how often.
    asked: list[str] = []

    class Router(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"true")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Router)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        druid = dataclasses.replace(
            backend, settings=backend.settings.model_copy(update={"druid_url": url})
        )
        async with app_for(druid) as app:
            first = await app.client.get("/api/sigma/status")
            assert first.status_code == 200, first.text
            after_first = len(asked)
            assert after_first > 0  # the first answer did ask Druid
            for _ in range(3):
                again = await app.client.get("/api/sigma/status")
                assert again.status_code == 200, again.text
            assert len(asked) == after_first
    finally:
        server.shutdown()

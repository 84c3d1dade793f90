"""Health checks measure the real parts: a stopped store or absent workers show up with the reason."""

from __future__ import annotations

import asyncio
import shutil
import threading

from backend.db import utcnow
from backend.storage.local import LocalObjectStore
from backend.storage.s3 import S3ObjectStore
from tests.conftest import App, Backend, app_for
from tests.factories import sales_csv, upload


async def test_everything_healthy_is_reported_with_latencies(app: App) -> None:
    response = await app.client.get("/api/health")
    body = response.json()

    assert response.status_code == 200 and body["status"] == "healthy", body
    checks = {c["name"]: c for c in body["checks"]}
    assert set(checks) == {"database", "storage", "workers", "disk"}  # no Druid configured
    assert all(c["latency_ms"] is not None and c["latency_ms"] >= 0 for c in checks.values())
    assert checks["workers"]["data"]["alive"] >= 1 and checks["workers"]["data"]["slots"] == 2
    assert checks["database"]["data"]["backend"] == (
        "sqlite" if app.backend.name == "embedded" else "postgresql"
    )
    assert (await app.client.get("/healthz")).json() == {"status": "alive"}
    assert (await app.client.get("/readyz")).status_code == 200
    assert (await app.client.get("/api/database/health")).json()["status"] == "healthy"

    graphql = await app.client.post(
        "/graphql", json={"query": "{ health { status reasons checks { name status latencyMs } } }"}
    )
    assert graphql.json()["data"]["health"]["status"] == "HEALTHY"


async def test_stopped_storage_makes_the_service_degraded_and_not_ready(app: App) -> None:
    store = app.runtime.store
    if isinstance(store, LocalObjectStore):
        shutil.rmtree(store.root, ignore_errors=True)
        store.root.write_text("not a folder any more")
    else:
        assert isinstance(store, S3ObjectStore)
        store.client.delete_bucket(Bucket=store.bucket)

    body = (await app.client.get("/api/health")).json()
    assert body["status"] == "degraded"
    storage = next(c for c in body["checks"] if c["name"] == "storage")
    assert storage["status"] == "down" and storage["detail"]
    assert any(reason.startswith("storage: ") for reason in body["reasons"])
    ready = await app.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["ready"] is False


async def test_queued_work_without_workers_is_degraded(app: App) -> None:
    assert app.runtime.workers is not None
    await app.runtime.workers.stop()
    await upload(app.client, content=sales_csv(rows=3))

    body = (await app.client.get("/api/health")).json()
    workers = next(c for c in body["checks"] if c["name"] == "workers")
    assert body["status"] == "degraded"
    assert workers["data"]["alive"] == 0 and workers["data"]["queue_depth"] == 1
    assert workers["data"]["oldest_queued_age_seconds"] >= 0
    assert "not processed" in workers["detail"]


async def test_a_worker_whose_slots_have_ended_is_reported_degraded(app: App) -> None:
    # Found by a hostile test: with every worker loop dead, health still said healthy (it counted
    # heartbeats, which another loop keeps writing, and the configured slots).
    workers = app.runtime.workers
    assert workers is not None
    before = (await app.client.get("/api/health")).json()
    assert next(c for c in before["checks"] if c["name"] == "workers")["data"]["slots"] == 2
    for slot in workers._slots:  # what an escaped error does to a loop
        slot.cancel()
    await asyncio.gather(*workers._slots, return_exceptions=True)
    await workers._record_beat(utcnow())  # the next heartbeat

    body = (await app.client.get("/api/health")).json()
    check = next(c for c in body["checks"] if c["name"] == "workers")
    assert body["status"] == "degraded"
    assert check["data"]["alive"] == 1 and check["data"]["slots"] == 0
    assert "no running slot" in check["detail"]


async def test_liveness_fails_while_the_default_thread_pool_is_saturated(embedded: Backend) -> None:
    # Found by a fault-injection run: with every thread of the loop's default pool held (by
    # storage probes of a stalled S3), routes that needed one timed out and /healthz said 200.
    async with app_for(embedded) as app:
        loop = asyncio.get_running_loop()
        release = threading.Event()
        held = [loop.run_in_executor(None, release.wait) for _ in range(64)]
        try:
            stalled = await app.client.get("/healthz")
        finally:
            release.set()
            await asyncio.gather(*held)
        assert stalled.status_code == 503, stalled.text
        assert "default thread pool is saturated" in stalled.json()["reason"]
        assert (await app.client.get("/healthz")).json() == {"status": "alive"}


async def test_disk_below_the_reserve_is_reported_degraded(app: App) -> None:
    app.runtime.settings.min_free_disk_mb = 1 << 40  # more than any disk here has free
    body = (await app.client.get("/api/health")).json()
    disk = next(c for c in body["checks"] if c["name"] == "disk")
    assert body["status"] == "degraded" and disk["status"] == "degraded"
    assert "temporary folder" in disk["detail"] and "MIN_FREE_DISK_MB" in disk["detail"]
    assert any(reason.startswith("disk: ") for reason in body["reasons"])
    assert "/" not in disk["detail"].replace("MIN_FREE_DISK_MB", "")  # no path

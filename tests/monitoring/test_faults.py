"""The fault suite, on PostgreSQL + S3 of its own: PostgreSQL stopped, S3 stalled (SIGSTOP), a
temporary folder full. Every answer is one a client can act on (503 with Retry-After, 507), says
nothing internal, and work waits for the dependency instead of failing for good."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import Settings
from backend.errors import StorageOutage
from backend.storage import create_store
from backend.storage.base import WRITE_BLOCK_BYTES
from backend.storage.s3 import S3ObjectStore, make_client
from backend.worker.pool import WorkerPool
from tests.conftest import AWS_TEST_CREDENTIALS, App, Backend, app_for
from tests.factories import sales_csv, upload, wait_for_task
from tests.monitoring.faults import (
    CuttableLink,
    StallableS3,
    StoppablePostgres,
    fill,
    full_folder,
    private_postgres,
    private_s3,
)
from tests.schema.test_ingestion_graphql import graphql_upload


@pytest.fixture(scope="module")
def stoppable_postgres() -> Iterator[StoppablePostgres]:
    server = private_postgres()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.start()  # a test that failed mid-stop
        server.cluster.stop()


@pytest.fixture(scope="module")
def stallable_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StallableS3]:
    server = private_s3(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()


def fault_backend(postgres: StoppablePostgres, s3: StallableS3, **extra: Any) -> Backend:
    bucket = f"faults-{Path(postgres.url()).name[-8:]}"
    make_client(s3.endpoint_url, "us-east-1", "testing", "testing").create_bucket(Bucket=bucket)
    values: dict[str, Any] = {
        "auto_migrate": False,
        "database_url": postgres.url(),
        "storage_url": f"s3://{bucket}/ingest",
        "s3_endpoint_url": s3.endpoint_url,
        "aws_region": "us-east-1",
        "worker_poll_seconds": 0.05,
        "worker_lease_seconds": 10.0,
        "worker_concurrency": 0,
        "rate_limit_per_minute": 0,
        "uploads_in_flight": 0,
        "database_wait_seconds": 5.0,
        "cache_dir": tempfile.mkdtemp(prefix="cache-", dir=s3.workdir),
        **AWS_TEST_CREDENTIALS,
        **extra,
    }
    return Backend("postgres_s3", Settings(**values), {})


@contextlib.asynccontextmanager
async def fault_app(
    postgres: StoppablePostgres, s3: StallableS3, **extra: Any
) -> AsyncIterator[App]:
    async with app_for(fault_backend(postgres, s3, **extra)) as running:
        yield running


def assert_unavailable(response: httpx.Response, *hidden: str) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert body["code"] == "service_unavailable" and body["detail"], body
    for secret in hidden:
        assert secret not in response.text


def assert_graphql_unavailable(answer: httpx.Response, *hidden: str) -> None:
    errors = answer.json()["errors"]
    assert errors and all(e["extensions"]["code"] == "SERVICE_UNAVAILABLE" for e in errors), errors
    # When to come back, as HTTP's Retry-After says it (GraphQL answers 200).
    assert all(e["extensions"]["retryAfter"] > 0 for e in errors), errors
    for secret in hidden:
        assert secret not in answer.text


READS = (
    '{ ingestionTasks { taskId } ingestionTask(taskId: "TASK") { taskId } datasources { name } }'
)
CANCEL = 'mutation { cancelIngestionTask(taskId: "TASK") { taskId } }'


async def test_postgres_down_answers_503_with_retry_after(
    stoppable_postgres: StoppablePostgres, stallable_s3: StallableS3
) -> None:
    async with fault_app(stoppable_postgres, stallable_s3) as app:
        queued = (await upload(app.client, content=sales_csv(rows=3))).json()["task_id"]
        port = str(stoppable_postgres.cluster.port)
        with stoppable_postgres.stopped():
            answers = {
                "status": await app.client.get(f"/api/ingest/status/{queued}"),
                "tasks": await app.client.get("/api/ingest/tasks"),
                "datasources": await app.client.get("/api/datasources"),
                "cancel": await app.client.post(f"/api/ingest/tasks/{queued}/cancel"),
                "upload": await upload(app.client, content=sales_csv(rows=4, seed=2)),
            }
            for response in answers.values():
                assert_unavailable(response, "127.0.0.1", port)
            health = await app.client.get("/api/health")
            assert health.status_code == 503 and health.json()["status"] == "down"
            assert "127.0.0.1" not in health.text and port not in health.text, health.text
            graphql = await app.client.post(
                "/graphql",
                json={"query": READS.replace("TASK", queued)},
            )
            by_graphql = await graphql_upload(app.client, sales_csv(rows=4, seed=3), "sales")
            cancel = await app.client.post(
                "/graphql",
                json={"query": CANCEL.replace("TASK", queued)},
            )
        for answer in (graphql, cancel, by_graphql):
            assert_graphql_unavailable(answer, "127.0.0.1", port)
        # Back up: the same calls answer again.
        assert (await app.client.get("/api/ingest/tasks")).status_code == 200


ROW_COUNT = {"query": "{ rowCount }"}


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def test_stalled_s3_neither_starves_other_routes_nor_loses_a_task(
    stoppable_postgres: StoppablePostgres, stallable_s3: StallableS3
) -> None:
    # Found by a fault-injection run: each /api/health left a storage probe holding a thread of
    # the loop's default pool for up to 120 s x 5 attempts; after six, `/`, cached dashboards
    # and the task list timed out while /healthz said 200.
    quick = {
        "s3_read_timeout_seconds": 2.0,
        "s3_connect_timeout_seconds": 2.0,
        "s3_max_attempts": 1,
    }
    async with fault_app(
        stoppable_postgres,
        stallable_s3,
        worker_concurrency=1,
        storage_retry_max_seconds=2.0,
        **quick,
    ) as app:
        first = (await upload(app.client, content=sales_csv(rows=5))).json()["task_id"]
        assert (await wait_for_task(app.client, first))["status"] == "succeeded"
        rows = (await app.client.post("/graphql", json=ROW_COUNT)).json()["data"]["rowCount"]
        with stallable_s3.stalled():
            healths = await asyncio.gather(
                *(timed(app.client.get("/api/health")) for _ in range(12))
            )
            for response, took in healths:
                storage = next(c for c in response.json()["checks"] if c["name"] == "storage")
                assert storage["status"] == "down" and took < 15, (took, storage)
                assert stallable_s3.endpoint_url.split("//")[1] not in response.text
            others = {
                "tasks": await timed(app.client.get("/api/ingest/tasks")),
                "dashboard": await timed(app.client.post("/graphql", json=ROW_COUNT)),
                "app": await timed(app.client.get("/")),
                "healthz": await timed(app.client.get("/healthz")),
            }
            for name, (response, took) in others.items():
                assert response.status_code == 200 and took < 5, (name, took, response.text)
            assert others["dashboard"][0].json()["data"]["rowCount"] == rows

            # The upload is refused, not half-stored: nothing of it is kept, send it again.
            # One store call's bound (2 s here), not two: the failed PUT was followed by a
            # DELETE of what it never stored, waiting as long again (123 s with the defaults).
            refused, took = await timed(upload(app.client, content=sales_csv(rows=3, seed=3)))
            assert_unavailable(refused, "faults-", "ingest/raw", "127.0.0.1")
            assert took < 3.5, took
            by_graphql = await graphql_upload(app.client, sales_csv(rows=3, seed=6), "sales")
            assert_graphql_unavailable(by_graphql, "faults-", "ingest/raw", "127.0.0.1")

        # A task accepted before the outage waits for the storage instead of failing for good.
        assert app.runtime.workers is not None
        await app.runtime.workers.stop()
        task = (await upload(app.client, content=sales_csv(rows=4, seed=4))).json()["task_id"]
        runtime = app.runtime
        workers = WorkerPool(runtime.settings, runtime.sessions, runtime.store)
        try:
            with stallable_s3.stalled():
                await workers.start()
                waiting = await wait_for_event(app.client, task, "storage cannot be reached")
                assert waiting["status"] in ("queued", "validating"), waiting
            done = await wait_for_task(app.client, task, timeout=60)
        finally:
            await workers.stop()
        assert done["status"] == "succeeded", done
        told = json.dumps([done["events"], done["error"]])
        for secret in ("faults-", "127.0.0.1", "UploadId", "s3://"):
            assert secret not in told


async def wait_for_event(
    client: httpx.AsyncClient, task: str, words: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = (await client.get(f"/api/ingest/status/{task}")).json()
        if any(words in event["message"] for event in body["events"]):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)


async def test_a_full_disk_says_which_folder_is_full_and_what_to_do(
    stoppable_postgres: StoppablePostgres,
    stallable_s3: StallableS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found by a fault-injection run: a full temporary folder failed the task as an internal
    # error ("report it"); a full cache folder answered "Unexpected error.".
    with full_folder(tmp_path, "cache") as cache, full_folder(tmp_path, "tmp") as tmp:
        async with fault_app(
            stoppable_postgres,
            stallable_s3,
            worker_concurrency=1,
            cache_dir=str(cache),
            min_free_disk_mb=0,
        ) as app:
            fill(cache)  # the next dataset cannot be copied there for the embedded engine
            first = (await upload(app.client, content=sales_csv(rows=5))).json()["task_id"]
            assert (await wait_for_task(app.client, first))["status"] == "succeeded"
            answer = (await app.client.post("/graphql", json=ROW_COUNT)).json()
            error = answer["errors"][0]
            assert error["extensions"]["code"] == "INSUFFICIENT_STORAGE", answer
            assert "cache folder is full" in error["message"]
            assert "CACHE_DIR" in error["extensions"]["detail"]
            assert str(cache) not in json.dumps(answer)

            for filler in cache.glob(".filler*"):  # room again in the cache folder
                filler.unlink()
            monkeypatch.setattr(tempfile, "tempdir", str(tmp))
            fill(tmp)
            # At the door: no room to receive it (the declared size is checked first).
            refused = await upload(app.client, content=sales_csv(rows=2000, seed=5))
            assert refused.status_code == 507, refused.text
            assert "temporary folder" in refused.json()["error"]
            # In a worker: accepted while there was room, processed once the folder is full.
            assert app.runtime.workers is not None
            await app.runtime.workers.stop()
            monkeypatch.setattr(tempfile, "tempdir", None)
            second = await upload(app.client, content=sales_csv(rows=2000, seed=5))
            monkeypatch.setattr(tempfile, "tempdir", str(tmp))
            runtime = app.runtime
            workers = WorkerPool(runtime.settings, runtime.sessions, runtime.store)
            await workers.start()
            try:
                done = await wait_for_task(app.client, second.json()["task_id"])
            finally:
                await workers.stop()
            assert done["status"] == "failed", done
            assert done["error"]["code"] == "disk_full", done["error"]
            assert "temporary folder is full" in done["error"]["message"]
            assert "Retry the task later" in done["error"]["detail"]
            assert [r["action"] for r in done["error"]["remedies"]] == ["retry"]  # an outage
            # read whole: the scrubber once made it "POST <path><id>/retry"
            assert "POST /api/ingest/tasks/ID/retry" in done["error"]["detail"]
            assert "<path>" not in done["error"]["detail"]
            assert str(tmp) not in json.dumps(done["error"])


async def test_a_multipart_upload_cut_by_an_outage_is_aborted_once_s3_is_back(
    stoppable_postgres: StoppablePostgres, stallable_s3: StallableS3
) -> None:
    # Found by a fault-injection run: a put cut by an outage left its multipart upload open (its
    # abort failed too), and the janitor aborted only uploads older than 6 hours.
    link = CuttableLink(int(stallable_s3.endpoint_url.rsplit(":", 1)[1]))
    quick = {
        "s3_read_timeout_seconds": 2.0,
        "s3_connect_timeout_seconds": 2.0,
        "s3_max_attempts": 1,
    }
    settings = fault_backend(stoppable_postgres, stallable_s3, **quick).settings
    store = create_store(settings.model_copy(update={"s3_endpoint_url": link.url}))
    assert isinstance(store, S3ObjectStore)
    writer = store.writer("raw/cut/big.csv")
    await writer.write(b"a" * (2 * WRITE_BLOCK_BYTES))  # two parts sent
    link.cut()
    try:
        with pytest.raises(StorageOutage):
            await writer.commit()
        await writer.abort()  # fails as well: S3 cannot be reached
    finally:
        link.restore()
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert len(uploads) == 1, uploads

    # The janitor's next run, with a cutoff older than any upload (moto says every multipart
    # upload was initiated in 2010, so a cutoff of a day ago would take this one by its age).
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert await store.abort_stale_writes(long_ago) == 1
    assert not store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")
    link.cut()


async def chunked(content: bytes) -> AsyncIterator[bytes]:
    """A body without Content-Length (as `curl -T -` or a browser stream sends), so the door's
    free-space check cannot know its size and the write itself meets the full disk."""
    yield content


async def test_a_full_disk_on_the_embedded_default(
    embedded: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with full_folder(tmp_path, "storage") as storage, full_folder(tmp_path, "tmp") as tmp:
        update = {"storage_url": str(storage), "min_free_disk_mb": 0, "worker_concurrency": 0}
        settings = embedded.settings.model_copy(update=update)
        async with app_for(Backend("embedded", settings, {})) as app:
            fill(storage)
            boundary = "faultsboundary"
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="datasource_name"\r\n\r\n'
                    f'sales\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="data.csv"\r\nContent-Type: text/csv\r\n\r\n'
                ).encode()
                + sales_csv(rows=200)
                + f"\r\n--{boundary}--\r\n".encode()
            )
            refused = await app.client.post(
                "/api/ingest/upload",
                content=chunked(body),
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
            assert refused.status_code == 507, refused.text
            assert "storage folder is full" in refused.json()["error"]
            assert "STORAGE_URL" in refused.json()["detail"]
            assert str(storage) not in refused.text

            for filler in storage.glob(".filler*"):
                filler.unlink()
            task = (await upload(app.client, content=sales_csv(rows=3000, seed=7))).json()
            monkeypatch.setattr(tempfile, "tempdir", str(tmp))
            fill(tmp)
            runtime = app.runtime
            one = runtime.settings.model_copy(update={"worker_concurrency": 1})
            workers = WorkerPool(one, runtime.sessions, runtime.store)
            await workers.start()
            try:
                done = await wait_for_task(app.client, task["task_id"])
            finally:
                await workers.stop()
            assert done["status"] == "failed", done
            assert done["error"]["code"] == "disk_full", done["error"]
            assert "temporary folder is full" in done["error"]["message"]

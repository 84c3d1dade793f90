"""OpenTelemetry traces: one trace per upload, from the API's request through a separate worker
process, exported over OTLP/HTTP to a collector (tests/otlp.py) on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend, app_for
from tests.e2e.processes import (
    ROOT,
    start_worker,
    stop_worker,
    uvicorn_server,
    wait_for_status,
)
from tests.otlp import STATUS_ERROR, ReceivedSpan, otlp_collector

pytestmark = pytest.mark.slow
DATA_CSV = ROOT / "data.csv"


def upload(url: str, name: str, content: bytes) -> str:
    response = httpx.post(
        f"{url}/api/ingest/upload",
        files={"file": (name, content)},
        data={"datasource_name": "sales"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["task_id"])


def test_an_upload_through_a_separate_worker_is_one_trace(backend: Backend, tmp_path: Path) -> None:
    with otlp_collector() as collector:
        api_env = collector.process_env(backend.env, WORKER_CONCURRENCY="0", LOG_FORMAT="json")
        worker_env = collector.process_env(backend.env, WORKER_CONCURRENCY="1", LOG_FORMAT="json")
        with uvicorn_server(api_env, tmp_path / "server.log") as url:
            worker = start_worker(worker_env, tmp_path / "worker.log")
            try:
                task_id = upload(url, "data.csv", DATA_CSV.read_bytes())
                done = wait_for_status(url, task_id, {"succeeded", "failed"})
                assert done["status"] == "succeeded", done
                httpx.get(f"{url}/metrics", timeout=10)  # scrapes start no trace
            finally:
                stop_worker(worker, tmp_path / "worker.log")  # exports what it buffered as it stops
            trace_id = str(done["trace_id"])
            spans = collector.wait_for(
                lambda got: (
                    any(s.name == "POST /api/ingest/upload" for s in got)
                    and any(s.name == "store dataset" for s in got)
                )
            )

    assert len(trace_id) == 32
    by_id = {s.span_id: s for s in spans}
    request = next(s for s in spans if s.name == "POST /api/ingest/upload")
    assert (request.service, request.kind, request.trace_id) == (
        "sales-ingest-api",
        "SERVER",
        trace_id,
    )
    assert request.attributes["http.route"] == "/api/ingest/upload"
    run = next(s for s in spans if s.name == "ingest task")
    assert (run.service, run.kind, run.trace_id) == ("sales-ingest-worker", "CONSUMER", trace_id)
    assert run.attributes["ingest.task_id"] == task_id
    # The worker's run hangs under the request's trace, below a span of the API process.
    assert by_id[run.parent_id].service == "sales-ingest-api"

    def under_run(span: ReceivedSpan) -> bool:
        while span.parent_id in by_id:
            span = by_id[span.parent_id]
            if span is run:
                return True
        return False

    worker_spans = [s for s in spans if s.service == "sales-ingest-worker"]
    names = {s.name for s in worker_spans if under_run(s)}
    assert {"read and validate", "one pass: read, validate, write Parquet", "store dataset"} <= (
        names
    )
    assert any(s.attributes.get("db.system.name", s.attributes.get("db.system")) for s in spans)
    if backend.settings.storage_url.startswith("s3:"):
        assert any(s.name.startswith("S3.") and under_run(s) for s in worker_spans), names
    # Nothing else of the worker's is traced (queue polls, heartbeats), nor the scrape.
    assert {s.trace_id for s in worker_spans} == {trace_id}
    assert not any("/metrics" in s.name for s in spans)
    assert STATUS_ERROR not in (request.status, run.status)
    # No file path of ours (the SQLite database's) in what left the processes.
    assert str(tmp_path) not in repr(spans)
    # The worker's log lines about the task carry the trace.
    lines = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines()]
    about_task = [line for line in lines if line.get("task_id") == task_id]
    assert about_task and all(line.get("trace_id") == trace_id for line in about_task)


def test_a_failed_task_ends_its_trace_in_error(embedded: Backend, tmp_path: Path) -> None:
    with otlp_collector() as collector:
        env = collector.process_env(embedded.env)
        with uvicorn_server(env, tmp_path / "server.log") as url:
            task_id = upload(url, "bad.csv", b"Invoice ID,Branch\n1,A\n")
            done = wait_for_status(url, task_id, {"succeeded", "failed"})
            spans = collector.wait_for(lambda got: any(s.name == "ingest task" for s in got))
    assert done["status"] == "failed"
    run = next(s for s in spans if s.name == "ingest task")
    assert run.trace_id == done["trace_id"]
    assert run.status == STATUS_ERROR
    assert run.attributes["error.type"] == (done["error"] or {})["code"]  # type: ignore[index]


def test_a_cancelled_run_is_not_an_error(embedded: Backend, tmp_path: Path) -> None:
    with otlp_collector() as collector:
        # The run waits after storing: time to cancel it.
        env = collector.process_env(embedded.env, WORKER_DEBUG_PAUSE_SECONDS="5")
        with uvicorn_server(env, tmp_path / "server.log") as url:
            task_id = upload(url, "data.csv", DATA_CSV.read_bytes())
            wait_for_status(url, task_id, {"loading"})
            cancelled = httpx.post(f"{url}/api/ingest/tasks/{task_id}/cancel", timeout=10)
            assert cancelled.json()["status"] == "cancelled", cancelled.text
            spans = collector.wait_for(lambda got: any(s.name == "ingest task" for s in got))
    run = next(s for s in spans if s.name == "ingest task")
    assert run.status != STATUS_ERROR
    assert run.attributes["ingest.stopped"].startswith("lease lost")


async def test_without_an_endpoint_tasks_carry_no_trace(embedded: Backend) -> None:
    """Traces are off by default: nothing is recorded, and the task says so with a null."""
    async with app_for(embedded) as app:
        response = await app.client.post(
            "/api/ingest/upload",
            files={"file": ("data.csv", DATA_CSV.read_bytes())},
            data={"datasource_name": "sales"},
        )
        assert response.status_code == 202
        task_id = response.json()["task_id"]
        status = await app.client.get(f"/api/ingest/status/{task_id}")
        query = f'{{ ingestionTask(taskId: "{task_id}") {{ traceId }} }}'
        graphql = await app.client.post("/graphql", json={"query": query})
    assert status.json()["trace_id"] is None
    assert graphql.json() == {"data": {"ingestionTask": {"traceId": None}}}


def test_spans_leave_without_signatures_paths_or_exception_messages() -> None:
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Status, StatusCode

    from backend.monitoring.tracing import scrub

    database = "/srv/data/var/metadata.db"
    span = ReadableSpan(
        name=f"SELECT {database}",
        attributes={
            "db.system.name": "sqlite",
            "db.namespace": database,
            "url.full": "http://api:8000/api/druid/files/k.parquet?expires=1&signature=abc123",
        },
        events=[
            Event(
                "exception",
                {
                    "exception.type": "ReadError",
                    "exception.message": "bad value 'Jane Doe' in /srv/data/raw/x.csv",
                    "exception.stacktrace": "Traceback ... /srv/data/raw/x.csv",
                },
            )
        ],
        status=Status(StatusCode.ERROR, "ReadError: bad value 'Jane Doe' in /srv/data/raw/x.csv"),
    )
    sent = scrub(span)
    assert sent.name == "SELECT metadata.db"
    assert sent.attributes is not None and sent.attributes["db.namespace"] == "metadata.db"
    assert sent.attributes["url.full"].endswith("expires=1&signature=REDACTED")
    assert [dict(e.attributes or {}) for e in sent.events] == [{"exception.type": "ReadError"}]
    assert sent.status.description == "ReadError"
    assert "/srv/data" not in repr((sent.name, sent.attributes, sent.status.description))


def test_live_streams_health_checks_and_scrapes_start_no_trace() -> None:
    from backend.monitoring.tracing import untraced

    assert untraced({"type": "websocket", "path": "/graphql"})
    assert untraced({"type": "http", "path": "/api/ingest/tasks/abc/events"})
    assert untraced({"type": "http", "path": "/metrics"})
    assert not untraced({"type": "http", "path": "/api/ingest/upload"})
    assert not untraced({"type": "http", "path": "/graphql"})


@pytest.mark.parametrize(
    ("endpoint", "protocol"),
    [("otel-collector:4318", "http/protobuf"), ("http://otel-collector:4317", "grpc")],
)
def test_an_endpoint_it_cannot_use_turns_traces_off_with_a_warning(
    embedded: Backend, endpoint: str, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    from backend.monitoring import tracing

    settings = embedded.settings.model_copy(
        update={"otel_exporter_otlp_endpoint": endpoint, "otel_exporter_otlp_protocol": protocol}
    )
    assert tracing.configure(settings, "api") is False
    assert not tracing.enabled()
    assert "traces are off" in caplog.text

"""The trace of an upload loaded into the real Druid: the worker's run shows the submission, the
indexing polls and the polls until queryable, each with its HTTP calls to Druid."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend
from tests.druid_local import LocalDruid
from tests.e2e.processes import ROOT, start_worker, stop_worker, uvicorn_server, wait_for_status
from tests.otlp import ReceivedSpan, otlp_collector
from tests.services import free_port

pytestmark = pytest.mark.slow


def test_an_upload_loaded_into_druid_is_one_trace(
    embedded: Backend, druid: LocalDruid, tmp_path: Path
) -> None:
    port = free_port()
    with otlp_collector() as collector:
        env = collector.process_env(
            embedded.env,
            DRUID_URL=druid.url,
            DRUID_DATASOURCE_PREFIX=f"t{uuid.uuid4().hex[:10]}_",
            DRUID_DATA_BASE_URL=f"http://127.0.0.1:{port}",
            DRUID_POLL_SECONDS="0.5",
            DRUID_LOAD_TIMEOUT_SECONDS="180",
        )
        with uvicorn_server({**env, "WORKER_CONCURRENCY": "0"}, tmp_path / "api.log", port) as url:
            worker = start_worker({**env, "WORKER_CONCURRENCY": "1"}, tmp_path / "worker.log")
            try:
                response = httpx.post(
                    f"{url}/api/ingest/upload",
                    files={"file": ("data.csv", (ROOT / "data.csv").read_bytes())},
                    data={"datasource_name": "sales"},
                    timeout=60,
                )
                assert response.status_code == 202, response.text
                done = wait_for_status(
                    url, response.json()["task_id"], {"succeeded", "failed"}, timeout=300
                )
                assert done["status"] == "succeeded", done
            finally:
                stop_worker(worker, tmp_path / "worker.log")
            spans = collector.wait_for(
                lambda got: any(s.name == "Druid loading until queryable" for s in got)
            )

    trace = [s for s in spans if s.trace_id == done["trace_id"]]
    by_id = {s.span_id: s for s in trace}

    def ancestors(span: ReceivedSpan) -> list[str]:
        names = []
        while span.parent_id in by_id:
            span = by_id[span.parent_id]
            names.append(span.name)
        return names

    phases = ["Druid submit", "Druid indexing", "Druid loading until queryable"]
    for phase in phases:
        found = [s for s in trace if s.name == phase]
        assert len(found) == 1 and "ingest task" in ancestors(found[0]), phase
        calls = [s for s in trace if s.kind == "CLIENT" and phase in ancestors(s)]
        assert calls, f"no HTTP call to Druid under {phase}"
    assert ancestors(next(s for s in trace if s.name == "ingest task"))[-1] == (
        "POST /api/ingest/upload"
    )
    # The dataset URL Druid reads is signed; its signature is in no span (ours, or those of the
    # requests Druid makes to fetch it).
    assert any("/api/druid/files/" in repr(s.attributes) for s in spans)
    assert "signature=" not in repr(spans).replace("signature=REDACTED", "")

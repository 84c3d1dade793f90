"""Bounded load on loopback, on a real uvicorn: 200 concurrent clients reading dashboards and
uploading for 30 s while a deliberately heavy query runs. Liveness holds (/healthz, timed from a
process of its own, answers within 1 s throughout), no answer is a 5xx, and every upload the
server accepted ends `succeeded`. Timings are recorded by bench/load.py in bench/RESULTS.md."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from bench.generate_sales import write_csv
from bench.load import run_load
from tests.conftest import Backend
from tests.e2e.processes import process_env, uvicorn_server

# Liveness is timed against the wall clock: alone, not beside another test process (Makefile).
pytestmark = [pytest.mark.slow, pytest.mark.solo]


def test_two_hundred_clients_and_a_heavy_query_keep_the_service_live(
    embedded: Backend, tmp_path: Path
) -> None:
    base = tmp_path / "base.csv"
    write_csv(base, 100_000, seed=5)
    env = process_env(embedded.env, WORKER_CONCURRENCY="2")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        with base.open("rb") as handle:
            first = httpx.post(
                f"{url}/api/ingest/upload",
                files={"file": ("base.csv", handle)},
                data={"datasource_name": "sales"},
                timeout=120,
            )
        assert first.status_code == 202, first.text
        report = asyncio.run(run_load(url, clients=200, uploaders=20, seconds=30))
    summary = report.summary()
    print(json.dumps(summary))  # shown with -s; bench/load.py records the same figures
    assert report.server_errors == [], summary
    assert report.accepted, summary
    assert report.heavy_runs and not report.heavy_refused, summary  # really run, not refused
    assert set(report.outcomes.values()) == {"succeeded"}, summary  # no upload lost
    assert report.healthz_worst < 1.0, summary
    assert not [s for s in report.statuses if s >= 500], summary

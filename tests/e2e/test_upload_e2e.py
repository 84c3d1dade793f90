"""End to end through a real uvicorn and real worker processes, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.storage import create_store
from tests.conftest import Backend
from tests.e2e.processes import (
    ROOT,
    cli_admin_token,
    process_env,
    start_worker,
    stop_worker,
    uvicorn_server,
    wait_for_status,
)
from tests.factories import read_dataset

pytestmark = pytest.mark.slow
DATA_CSV = ROOT / "data.csv"


def curl_upload(url: str, path: Path) -> dict[str, object]:
    if shutil.which("curl"):
        done = subprocess.run(
            [
                "curl",
                "-sS",
                "-F",
                f"file=@{path}",
                "-F",
                "datasource_name=sales",
                f"{url}/api/ingest/upload",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        body: dict[str, object] = json.loads(done.stdout)
        return body
    with path.open("rb") as handle:  # same multipart request, for machines without curl
        response = httpx.post(
            f"{url}/api/ingest/upload",
            files={"file": (path.name, handle)},
            data={"datasource_name": "sales"},
        )
    return dict(response.json())


def test_curl_upload_of_data_csv_reaches_succeeded_and_parquet_has_its_rows(
    backend: Backend, tmp_path: Path
) -> None:
    env = process_env(backend.env)
    with uvicorn_server(env, tmp_path / "server.log") as url:
        accepted = curl_upload(url, DATA_CSV)
        assert accepted["status"] == "queued"
        task = httpx.get(str(accepted["status_url"])).json()
        assert task["task_id"] == accepted["task_id"]
        done = wait_for_status(url, str(accepted["task_id"]), {"succeeded", "failed"})

    assert done["status"] == "succeeded", done
    assert done["rows_read"] == 1000
    dataset = asyncio.run(
        read_dataset(
            create_store(backend.settings), f"datasets/sales/{accepted['task_id']}.parquet"
        )
    )
    expected = pl.read_csv(DATA_CSV)
    assert dataset.columns == [*expected.columns, "__time"]
    assert dataset.height == expected.height
    assert dataset["Invoice ID"].to_list() == expected["Invoice ID"].to_list()
    first = expected.row(0, named=True)  # e.g. Date 3/18/2019, Time 14:02
    month, day, year = (int(p) for p in first["Date"].split("/"))
    hour, minute = (int(p) for p in first["Time"].split(":"))
    assert dataset["__time"][0] == dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)
    assert dataset["Total"].sum() == pytest.approx(expected["Total"].sum())


def test_worker_killed_mid_task_is_replaced_and_the_task_completes_once(
    backend: Backend, tmp_path: Path
) -> None:
    api_env = process_env(backend.env, WORKER_CONCURRENCY="0")
    worker_env = process_env(backend.env, WORKER_CONCURRENCY="1", WORKER_LEASE_SECONDS="2")
    store = create_store(backend.settings)
    log = tmp_path / "worker.log"
    with uvicorn_server(api_env, tmp_path / "server.log") as url:
        doomed = start_worker({**worker_env, "WORKER_DEBUG_PAUSE_SECONDS": "600"}, log)
        try:
            accepted = curl_upload(url, DATA_CSV)
            task_id = str(accepted["task_id"])
            wait_for_status(url, task_id, {"loading"})
            key = f"datasets/sales/{task_id}.parquet"
            deadline = time.monotonic() + 60
            while not asyncio.run(
                store.exists(key)
            ):  # the data is written, success not yet recorded
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait()
        assert httpx.get(f"{url}/api/ingest/status/{task_id}").json()["status"] == "loading"

        rescuer = start_worker(worker_env, log)
        try:
            done = wait_for_status(url, task_id, {"succeeded", "failed"})
        finally:
            stop_worker(rescuer, log)

    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    assert any("resumed" in str(e["message"]) for e in done["events"])  # type: ignore[attr-defined]
    # One dataset: the rescuer's (under a key of its own); the killed run's is removed.
    datasets = asyncio.run(store.list_prefix("datasets/sales"))
    assert len(datasets) == 1 and datasets[0].key.startswith(f"datasets/sales/{task_id}-")
    assert asyncio.run(read_dataset(store, datasets[0].key)).height == 1000


def test_a_separate_worker_serves_its_own_metrics(backend: Backend, tmp_path: Path) -> None:
    """The API's /metrics counts what the API does (uploads accepted); a `python -m backend
    worker` process serves what it does (tasks, rows, stages) on WORKER_METRICS_PORT."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api_env = process_env(backend.env, WORKER_CONCURRENCY="0")
    worker_env = process_env(backend.env, WORKER_CONCURRENCY="1", WORKER_METRICS_PORT=str(port))
    with uvicorn_server(api_env, tmp_path / "server.log") as url:
        worker = start_worker(worker_env, tmp_path / "worker.log")
        try:
            accepted = curl_upload(url, DATA_CSV)
            done = wait_for_status(url, str(accepted["task_id"]), {"succeeded", "failed"})
            assert done["status"] == "succeeded", done
            worker_text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            api_text = httpx.get(f"{url}/metrics", timeout=10).text
        finally:
            stop_worker(worker, tmp_path / "worker.log")

    def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    at_worker, at_api = samples(worker_text), samples(api_text)
    assert at_worker[("ingest_tasks_total", (("status", "succeeded"),))] == 1
    assert at_worker[("ingest_rows_total", (("outcome", "valid"),))] == 1000
    assert ("ingest_tasks_total", (("status", "succeeded"),)) not in at_api
    assert at_api[("ingest_upload_bytes_total", ())] == DATA_CSV.stat().st_size
    assert at_worker[("process_resident_memory_bytes", ())] > 0


def test_json_logs_carry_the_request_and_task_ids_and_no_token(
    embedded: Backend, tmp_path: Path
) -> None:
    """LOG_FORMAT=json: every line the server writes (uvicorn's included) is one JSON object; a
    request's lines carry its id (the caller's X-Request-ID, echoed back), the worker's lines the
    task id; the bearer token appears nowhere."""
    env = process_env(embedded.env, LOG_FORMAT="json", AUTH_ANONYMOUS_ROLE="none")
    token = cli_admin_token(env, tmp_path / "admin-token")
    log = tmp_path / "server.log"
    with uvicorn_server(env, log) as url:
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "trace-me-42"}
        with DATA_CSV.open("rb") as handle:
            response = httpx.post(
                f"{url}/api/ingest/upload",
                files={"file": ("data.csv", handle)},
                data={"datasource_name": "sales"},
                headers=headers,
            )
        assert response.headers["x-request-id"] == "trace-me-42"
        task_id = response.json()["task_id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{url}/api/ingest/status/{task_id}", headers=headers).json()[
            "status"
        ] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        odd = "x" * 65  # not taken as an id: too long (header values are the caller's)
        made_up = httpx.get(f"{url}/healthz", headers={"X-Request-ID": odd})
        assert made_up.headers["x-request-id"] not in ("", odd)

    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line.get("request_id") == "trace-me-42" for line in lines)
    assert any(line.get("task_id") == task_id for line in lines)
    assert token not in text

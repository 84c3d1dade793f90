"""The issue's done-when test of resumable uploads, on both storages: a 1 GiB CSV sent by
`sales-ingest upload` in parts, the client killed (SIGKILL) once the session has about half of its
parts, then `--resume` sends only the missing ones; the API's memory stays flat, the task's data
equals the file's, and with S3 the API receives none of the file's bytes (parts go to S3)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.client.resumable import parts_of
from bench import harness
from tests.conftest import Backend
from tests.e2e.processes import ROOT, cli_admin_token, process_env, start_worker, stop_worker

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "sales-ingest"
GIB = 1 << 30
PART_MB = 16  # 64 parts of the 1 GiB file
NOTE_CHARS = 1000  # long rows: a GiB in about a million rows, processed in seconds
RSS_GROWTH_LIMIT = 300 * 1024 * 1024


@dataclass(frozen=True)
class BigFile:
    path: Path
    rows: int
    amount_sum: int


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> BigFile:
    """A valid CSV of a little over 1 GiB for an inferred datasource (day, amount, note)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rows = GIB // (NOTE_CHARS + 12) + 1
    frame = pl.select(i=pl.int_range(0, rows, eager=True)).select(
        day=(pl.date(2020, 1, 1) + pl.duration(days=pl.col("i") % 1000)).dt.to_string("%Y-%m-%d"),
        amount=pl.col("i") % 997,
        note=pl.lit("n" * NOTE_CHARS),
    )
    frame.write_csv(path)
    assert path.stat().st_size >= GIB
    return BigFile(path, rows, int(frame["amount"].sum()))


def hwm_bytes(pid: int) -> int:
    """The process's peak resident memory so far."""
    return harness.status_kib(pid, "VmHWM") * 1024


def part_bytes_received(url: str, headers: dict[str, str]) -> float:
    """The API's upload_part_bytes_total: the part bytes it received itself."""
    text = httpx.get(f"{url}/metrics", headers=headers, timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "upload_part_bytes_total"
    )


def the_session(url: str, headers: dict[str, str]) -> dict[str, Any] | None:
    found = httpx.get(f"{url}/api/uploads", params={"status": "open"}, headers=headers).json()
    if not found["items"]:
        return None
    session_id = found["items"][0]["id"]
    answer: dict[str, Any] = httpx.get(f"{url}/api/uploads/{session_id}", headers=headers).json()
    return answer


def cut_at_half(command: list[str], url: str, headers: dict[str, str], log: Path) -> None:
    """Runs the client until its session has half of its parts, then kills it (SIGKILL)."""
    with log.open("wb") as out:
        client = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert client.poll() is None, f"the client ended before the cut: {log.read_text()}"
            session = the_session(url, headers)
            if session and len(session["parts"]) * 2 >= session["part_count"]:
                return
            time.sleep(0.05)
        raise AssertionError(f"the session never had half of its parts: {log.read_text()}")
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()


def analytics(url: str, headers: dict[str, str], measures: list[dict[str, str]]) -> list[Any]:
    query = "query($q: AnalyticsQueryInput!) { analytics(query: $q) { columns rows } }"
    variables = {"q": {"datasource": "big", "measures": measures}}
    body = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=120,
    ).json()
    assert "errors" not in body, body
    row: list[Any] = body["data"]["analytics"]["rows"][0]
    return row


def test_a_1_gib_upload_cut_at_half_resumes_with_only_the_missing_parts(
    backend: Backend, big_csv: BigFile, tmp_path: Path
) -> None:
    # moto assembles the object on CompleteMultipartUpload silently for longer than
    # S3_READ_TIMEOUT_SECONDS (20 s): the service's complete waits for it (storage.parts)
    common = {"AUTH_ANONYMOUS_ROLE": "none", "UPLOAD_PART_MB": str(PART_MB)}
    api_env = process_env(backend.env, WORKER_CONCURRENCY="0", **common)
    token = cli_admin_token(api_env, tmp_path / "admin-token")
    headers = {"Authorization": f"Bearer {token}"}
    with harness.uvicorn_server(
        api_env, tmp_path / "server.log", cwd=ROOT, error=AssertionError
    ) as server:
        url, api_pid = server.url, server.process.pid
        worker = start_worker(
            process_env(backend.env, WORKER_CONCURRENCY="1", **common), tmp_path / "worker.log"
        )
        try:
            peak_before, received_before = hwm_bytes(api_pid), part_bytes_received(url, headers)
            send = [str(SCRIPT), "upload", str(big_csv.path), "--datasource", "big"]
            send += ["--url", url, "--token", token, "--parallel", "4"]
            cut_at_half(send, url, headers, tmp_path / "cut.log")
            time.sleep(1)  # parts whose bytes had all arrived are recorded
            held = the_session(url, headers)
            assert held is not None
            had = {p["number"] for p in held["parts"]}
            count = held["part_count"]
            received_cut = part_bytes_received(url, headers)

            resumed = subprocess.run(
                [*send, "--resume", "--json"], capture_output=True, text=True, timeout=600, cwd=ROOT
            )

            assert resumed.returncode == 0, resumed.stderr
            said = re.search(
                r"the service has ([\d,]+) of ([\d,]+) parts; sending the ([\d,]+) missing",
                resumed.stderr,
            )
            assert said, resumed.stderr
            assert [int(n.replace(",", "")) for n in said.groups()] == [
                len(had),
                count,
                count - len(had),
            ]
            assert f"sent {count - len(had):,} parts" in resumed.stderr
            assert count // 2 <= len(had) < count
            task = json.loads(resumed.stdout)  # the client followed the task until it ended
            assert task["status"] == "succeeded", task
            assert task["rows_read"] == task["rows_valid"] == big_csv.rows
            peak_after, received_after = hwm_bytes(api_pid), part_bytes_received(url, headers)
            # the data read back through the API equals the file's
            assert analytics(url, headers, [{"aggregate": "COUNT"}]) == [big_csv.rows]
            total = analytics(url, headers, [{"aggregate": "SUM", "column": "amount"}])
            assert int(total[0]) == big_csv.amount_sum
        finally:
            stop_worker(worker, tmp_path / "worker.log")

    assert peak_after - peak_before < RSS_GROWTH_LIMIT, (peak_before, peak_after)
    if backend.name == "embedded":
        missing_bytes = sum(p.size for p in parts_of(held) if p.number not in had)
        assert received_after - received_cut == missing_bytes  # the second run sent only those
    else:
        assert received_after == received_before == 0  # every part went to S3 directly

"""`sales-ingest upload` through upload sessions against a real uvicorn, on both storages: a file
above --parts-above goes in parts and loads; a lost connection stops the upload with the command
that resumes it, and `--resume` sends only the parts the service lacks.

The part addresses lead through a small proxy (PUBLIC_URL for the local folder,
S3_PUBLIC_ENDPOINT_URL for S3) that counts the part PUTs and can drop them: a network that fails
is the one fault the real services cannot produce on demand."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.e2e.processes import ROOT, cli_admin_token, process_env, uvicorn_server

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "sales-ingest"
MIB = 1024 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Faults:
    """What the proxy does with part PUTs: passes `passing` more of them (None: all), drops the
    others (closes the connection unanswered); records the part numbers it passed."""

    upstream: str = ""
    passing: int | None = None
    passed: list[int] = field(default_factory=list)
    dropped: int = 0
    busy: int = 0  # the next part PUTs answered 429 with Retry-After (a part being written)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_busy(self) -> bool:
        with self.lock:
            if self.busy <= 0:
                return False
            self.busy -= 1
            return True

    def admit(self) -> bool:
        with self.lock:
            if self.passing is None:
                return True
            if self.passing <= 0:
                self.dropped += 1
                return False
            self.passing -= 1
            return True


class Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Proxy

    def do_PUT(self) -> None:
        if self.server.faults.take_busy():
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            said = b'{"error":"Part 1 is being sent by another request"}'
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", str(len(said)))
            self.end_headers()
            self.wfile.write(said)
            return
        if not self.server.faults.admit():
            self.close_connection = True  # a lost connection: no answer
            return
        self.forward()
        number = re.search(r"(?:parts/|partNumber=)(\d+)", self.path)
        with self.server.faults.lock:
            self.server.faults.passed.append(int(number.group(1)) if number else 0)

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = self.headers["Host"]  # signed into S3 addresses
        answer = httpx.request(
            self.command,
            self.server.faults.upstream + self.path,
            content=body,
            headers=headers,
            timeout=60,
        )
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in HOP_BY_HOP | {"content-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Forward)
        self.faults = Faults()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@dataclass
class Served:
    url: str
    token: str
    faults: Faults

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def served(backend: Backend, tmp_path: Path) -> Iterator[Served]:
    proxy = Proxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    extra = {"UPLOAD_PART_MB": "5", "AUTH_ANONYMOUS_ROLE": "none"}
    if backend.name == "embedded":
        extra["PUBLIC_URL"] = proxy.url
    else:
        extra["S3_PUBLIC_ENDPOINT_URL"] = proxy.url
        proxy.faults.upstream = backend.env["S3_ENDPOINT_URL"]
    env = process_env(backend.env, **extra)
    token = cli_admin_token(env, tmp_path / "admin-token")
    try:
        with uvicorn_server(env, tmp_path / "server.log") as url:
            proxy.faults.upstream = proxy.faults.upstream or url
            yield Served(url, token, proxy.faults)
    finally:
        proxy.shutdown()
        proxy.server_close()


def readings(path: Path, rows: int) -> tuple[int, int]:
    """A CSV for an inferred datasource, about a KiB a row; returns its rows and amounts' sum."""
    note = "n" * 1000
    with path.open("w") as out:
        out.write("day,amount,note\n")
        for i in range(rows):
            out.write(f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},{i % 97},{note}\n")
    return rows, sum(i % 97 for i in range(rows))


def sales_ingest(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args, "--url", served.url, "--token", served.token],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )


def sessions(served: Served) -> list[dict[str, Any]]:
    found = httpx.get(f"{served.url}/api/uploads", headers=served.headers, timeout=30).json()
    items: list[dict[str, Any]] = found["items"]
    return items


def test_a_file_above_parts_above_goes_in_parts_and_loads(served: Served, tmp_path: Path) -> None:
    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    rows, _ = readings(big, 12_000)  # 11.6 MB: 3 parts of 5 MiB
    readings(small, 100)

    done = sales_ingest(
        served, "upload", str(big), "--datasource", "readings", "--parts-above", "10"
    )

    assert done.returncode == 0, done.stderr
    assert re.search(r"upload \w+: 3 parts of 5 MB, 4 at a time", done.stderr), done.stderr
    assert "sent 3 parts (11.6 MB)" in done.stderr
    assert "succeeded: big.csv -> readings" in done.stdout
    assert f"rows: {rows:,} read, {rows:,} valid, 0 rejected" in done.stdout
    assert sorted(served.faults.passed) == [1, 2, 3]  # each part once, straight to storage
    [session] = sessions(served)
    assert session["status"] == "completed" and session["filename"] == "big.csv"
    assert session["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()

    # below the threshold (64 MB by default): the single request, as before
    plain = sales_ingest(served, "upload", str(small), "--datasource", "readings")
    assert plain.returncode == 0, plain.stderr
    assert len(sessions(served)) == 1 and len(served.faults.passed) == 3

    one = sales_ingest(
        served, "upload", str(small), "--datasource", "readings", "--parts-above", "0", "--force"
    )
    assert one.returncode == 0, one.stderr
    assert re.search(r"upload \w+: 1 part of 5 MB, 4 at a time", one.stderr), one.stderr
    assert re.search(r"sent 1 part \(", one.stderr), one.stderr


def test_a_lost_connection_is_resumed_sending_only_the_missing_parts(
    served: Served, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    rows, total = readings(big, 30_000)  # 6 parts
    served.faults.passing = 2  # then the network fails

    cut = sales_ingest(
        served, "upload", str(big), "--datasource", "readings", "--parts-above", "0",
        "--parallel", "1",
    )  # fmt: skip

    assert cut.returncode == 2, cut.stdout + cut.stderr
    assert "The upload stopped: part 3 failed 5 times: the connection failed" in cut.stderr
    said = re.search(r"To continue it from the parts the service has, run: (.+)", cut.stderr)
    assert said, cut.stderr
    command = shlex.split(said.group(1).replace("--token <your token>", ""))
    assert command[:2] == ["sales-ingest", "upload"] and command[-1] == "--resume"
    [open_one] = sessions(served)
    assert open_one["status"] == "open"
    assert served.faults.passed == [1, 2]

    served.faults.passing = None  # the network is back
    resumed = subprocess.run(
        [str(SCRIPT), *command[1:], "--token", served.token, "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )

    assert resumed.returncode == 0, resumed.stderr
    assert "the service has 2 of 6 parts; sending the 4 missing" in resumed.stderr
    assert sorted(served.faults.passed[2:]) == [3, 4, 5, 6]  # only the missing ones
    task = json.loads(resumed.stdout)
    assert task["status"] == "succeeded" and task["rows_valid"] == rows
    query = "query($q: AnalyticsQueryInput!) { analytics(query: $q) { rows } }"
    measures = [{"aggregate": "COUNT"}, {"aggregate": "SUM", "column": "amount"}]
    body = httpx.post(
        f"{served.url}/graphql",
        json={"query": query, "variables": {"q": {"datasource": "readings", "measures": measures}}},
        headers=served.headers,
        timeout=60,
    ).json()
    assert [int(v) for v in body["data"]["analytics"]["rows"][0]] == [rows, total]


def test_a_part_being_written_elsewhere_is_sent_again_when_the_service_says(
    served: Served, tmp_path: Path
) -> None:
    """429 with Retry-After (the part is being written by another request, or one that stopped
    less than 30 s ago, e.g. before a restart): the client waits as told, more often than it
    retries a failure, and the upload goes through."""
    big = tmp_path / "big.csv"
    rows, _ = readings(big, 10_000)
    served.faults.busy = 6  # more than the 5 tries a failing part gets

    sent = sales_ingest(
        served, "upload", str(big), "--datasource", "busy", "--parts-above", "0",
        "--parallel", "1", "--json",
    )  # fmt: skip

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert served.faults.busy == 0 and json.loads(sent.stdout)["rows_valid"] == rows


def test_ctrl_c_while_sending_prints_the_command_that_resumes(
    served: Served, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    readings(big, 12_000)
    served.faults.passing = 0  # parts do not get through: the client retries, and waits
    command = [str(SCRIPT), "upload", str(big), "--datasource", "readings", "--parts-above", "0"]
    client = subprocess.Popen(
        [*command, "--url", served.url, "--token", served.token],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while served.faults.dropped == 0:
        assert time.monotonic() < deadline and client.poll() is None
        time.sleep(0.05)

    client.send_signal(signal.SIGINT)
    _, stderr = client.communicate(timeout=30)

    assert client.returncode == 2, stderr
    assert "The upload was interrupted. To continue it from the parts the service has, run: " in (
        stderr
    )
    assert f"--url {served.url} --resume --token <your token>" in stderr
    assert "Traceback" not in stderr
    assert sessions(served)[0]["status"] == "open"


def test_resume_without_an_unfinished_upload_says_what_to_run(
    served: Served, tmp_path: Path
) -> None:
    some = tmp_path / "some.csv"
    readings(some, 10)

    told = sales_ingest(served, "upload", str(some), "--datasource", "readings", "--resume")

    assert told.returncode == 2
    assert f"There is no unfinished upload of {some} to datasource readings to resume" in (
        told.stderr
    )
    assert "run the same command without --resume" in told.stderr
    assert "Traceback" not in told.stderr

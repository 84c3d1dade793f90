"""The HTTP edge on a real uvicorn: bodies that trickle are answered 408 (a slow but live upload
still lands), X-Forwarded-For does not dodge the per-address limits however uvicorn is started,
credentials in query strings never reach the access log, no `server` header, and a client that
leaves mid-upload is one log line and leaves nothing stored."""

from __future__ import annotations

import socket
import time
import urllib.parse
from pathlib import Path

import httpx
import pytest

from backend.auth import tokens
from backend.storage.s3 import make_client
from tests.conftest import Backend
from tests.e2e.processes import process_env, uvicorn_server
from tests.factories import sales_csv

pytestmark = pytest.mark.slow
BOUNDARY = "bound4ry"


def connect(url: str) -> socket.socket:
    where = urllib.parse.urlsplit(url)
    return socket.create_connection((where.hostname or "127.0.0.1", where.port or 80), timeout=10)


def head(path: str, length: int, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
        f"Content-Type: {content_type}\r\nGraphQL-Preflight: 1\r\n\r\n"
    ).encode()


def multipart(path: str, content: bytes) -> bytes:
    if path == "/graphql":
        fields = {
            "operations": '{"query": "mutation($f: Upload!) { uploadSalesData(file: $f, '
            'dataSourceName: \\"sales\\") { taskId } }", "variables": {"f": null}}',
            "map": '{"0": ["variables.f"]}',
        }
        name = "0"
    else:
        fields, name = {"datasource_name": "sales"}, "file"
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="s.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    return "".join(parts).encode() + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def answer_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server answers within `seconds`: its head and JSON body."""
    deadline, answer = time.monotonic() + seconds, b""
    while not answer.endswith(b"}") and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not data:
            break
        answer += data
    return answer


@pytest.mark.parametrize("path", ["/graphql", "/api/ingest/upload"])
def test_a_body_that_trickles_is_answered_408_and_a_slow_live_one_lands(
    embedded: Backend, tmp_path: Path, path: str
) -> None:
    env = process_env(
        embedded.env, BODY_READ_TIMEOUT_S="1", BODY_MIN_KB_PER_S="2", WORKER_CONCURRENCY="0"
    )
    mime = f"multipart/form-data; boundary={BOUNDARY}"
    with uvicorn_server(env, tmp_path / "server.log") as url:
        stalled = [connect(url) for _ in range(4)]
        for sock in stalled:  # a few bytes of a declared 100 KB, then nothing
            sock.sendall(head(path, 100_000, mime) + b"--" + BOUNDARY.encode())
        began = time.monotonic()
        answers = [answer_within(sock, 10) for sock in stalled]
        waited = time.monotonic() - began
        for sock in stalled:
            sock.close()
        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
            assert b"BODY_READ_TIMEOUT_S" in answer
        assert waited < 6, f"the stalled bodies were held {waited:.1f} s"

        # 30 KB at ~10 KB/s: three times BODY_READ_TIMEOUT_S, but faster than 2 KB/s.
        body = multipart(path, sales_csv(rows=200)[:30_000].rsplit(b"\n", 1)[0] + b"\n")
        with connect(url) as sock:
            sock.sendall(head(path, len(body), mime))
            for start in range(0, len(body), 1000):
                sock.sendall(body[start : start + 1000])
                time.sleep(0.1)
            answer = answer_within(sock, 10)
        assert answer.split(b"\r\n", 1)[0] in (b"HTTP/1.1 202 Accepted", b"HTTP/1.1 200 OK")
        assert b'"taskId"' in answer or b'"task_id"' in answer, answer[:500]


def test_x_forwarded_for_does_not_dodge_the_per_address_limit(
    embedded: Backend, tmp_path: Path
) -> None:
    env = process_env(
        embedded.env,
        AUTH_ANONYMOUS_ROLE="viewer",
        RATE_LIMIT_PER_MINUTE="5",
        WORKER_CONCURRENCY="0",
    )
    # uvicorn's defaults believe X-Forwarded-For from loopback: the app still does not.
    with uvicorn_server(env, tmp_path / "defaults.log", flags=()) as url:
        statuses = [
            httpx.get(
                f"{url}/api/ingest/tasks", headers={"X-Forwarded-For": f"10.9.8.{n}"}
            ).status_code
            for n in range(10)
        ]
    assert 429 in statuses, statuses
    # Behind a configured proxy, each forwarded client has its own budget.
    with uvicorn_server({**env, "TRUSTED_PROXIES": "127.0.0.1"}, tmp_path / "proxy.log") as url:
        statuses = [
            httpx.get(
                f"{url}/api/ingest/tasks", headers={"X-Forwarded-For": f"10.9.8.{n}"}
            ).status_code
            for n in range(10)
        ]
    assert statuses == [200] * 10, statuses


def test_query_string_credentials_never_reach_the_log_and_no_server_header(
    embedded: Backend, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    env = process_env(embedded.env, WORKER_CONCURRENCY="0")
    secrets = ["tok3n-SECRET", "k3y-SECRET", "pa55-SECRET", "s1g-SECRET"]
    with uvicorn_server(env, log) as url:
        answers = [
            httpx.get(f"{url}/api/ingest/tasks?access_token={secrets[0]}&limit=5"),
            httpx.get(f"{url}/api/ingest/tasks?limit=5&api_key={secrets[1]}"),
            httpx.get(f"{url}/graphql?query=%7B__typename%7D&password={secrets[2]}"),
            httpx.get(f"{url}/api/nothing?X-Amz-Signature={secrets[3]}"),
        ]
        # A token by its shape, wherever it stands: an encoded name, an unnamed parameter, a
        # path, the request id (all were written as sent).
        token = tokens.new_token()
        secrets.append(token)
        answers += [
            httpx.get(f"{url}/api/ingest/tasks?access%5Ftoken={token}"),
            httpx.get(f"{url}/api/ingest/tasks?t={token}"),
            httpx.get(f"{url}/api/datasources/{token}"),
            httpx.get(f"{url}/healthz", headers={"X-Request-ID": token}),
        ]
        time.sleep(0.5)  # the access log is written after each answer
    for answer in answers:
        assert "server" not in answer.headers
    written = log.read_text()
    assert "access_token=REDACTED" in written and "limit=5" in written
    for secret in secrets:
        assert secret not in written


def stored(backend: Backend) -> list[str]:
    """Every object (and, on S3, every unfinished multipart upload) the backend's storage holds."""
    settings = backend.settings
    if not settings.storage_url.startswith("s3://"):
        return [str(p) for p in Path(settings.storage_url).rglob("*") if p.is_file()]
    bucket, _, prefix = settings.storage_url.removeprefix("s3://").partition("/")
    client = make_client(settings.s3_endpoint_url, "us-east-1", "testing", "testing")
    objects = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    parts = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    return [o["Key"] for o in objects] + [f"multipart {u['Key']}" for u in parts]


@pytest.mark.parametrize("path", ["/graphql", "/api/ingest/upload"])
def test_a_client_leaving_mid_upload_is_one_line_and_leaves_nothing_stored(
    backend: Backend, tmp_path: Path, path: str
) -> None:
    log = tmp_path / "server.log"
    env = process_env(backend.env, WORKER_CONCURRENCY="0")
    # Past the 8 MB of a first S3 multipart part, so one is open when the client leaves.
    body = multipart(path, sales_csv(rows=120_000))
    with uvicorn_server(env, log) as url:
        with connect(url) as sock:
            sock.sendall(head(path, len(body), f"multipart/form-data; boundary={BOUNDARY}"))
            sock.sendall(body[: len(body) * 3 // 4])
            time.sleep(0.5)
        time.sleep(1.5)
        tasks = httpx.get(f"{url}/api/ingest/tasks").json()
    written = log.read_text()
    assert "Traceback" not in written and "ERROR" not in written, written
    assert written.count("the client left after sending") == 1, written
    assert tasks["total"] == 0
    assert stored(backend) == []


def test_request_headers_are_bounded_before_anyone_is_known(
    embedded: Backend, tmp_path: Path
) -> None:
    """Header lines that never end were all held in memory (uvicorn's httptools parser has no
    bound: three connections sending 48 MB each grew the server by 118 MB); the server is
    started with h11 and a 64 KB bound on an unfinished request head, so the head is refused
    (400) and the connection closed after about that much."""
    with uvicorn_server(process_env(embedded.env), tmp_path / "server.log") as url:
        sock = connect(url)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sent = 0
        try:
            while sent < 8 * 1024 * 1024:
                sock.sendall(b"X-Pad: " + b"a" * 8192 + b"\r\n")
                sent += 8201
        except OSError:
            pass  # the server closed the connection: refused before the rest was read
        answer = answer_within(sock, 5)
        sock.close()
    # Refused: the connection closed before 8 MB went out, or the 400 is there.
    assert sent < 8 * 1024 * 1024 or answer.startswith(b"HTTP/1.1 400"), (sent, answer[:80])
    assert answer in (b"",) or answer.startswith(b"HTTP/1.1 400"), answer[:80]

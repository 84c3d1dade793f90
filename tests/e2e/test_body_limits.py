"""Request bodies are bounded while they stream, on a real uvicorn: a chunked GraphQL upload
(no Content-Length) is refused with 413 as soon as it passes the limit, an upload without a
valid uploader's token is refused before its body is read, and a refusal closes the connection
instead of reading the rest of the body."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.e2e.processes import ROOT, process_env, uvicorn_server

pytestmark = pytest.mark.slow
BOUNDARY = "bound4ry"
TOTAL = 64 * 1024 * 1024  # what the client would send: 64 MiB against a 1 MiB limit


def multipart_head(path: str) -> bytes:
    if path == "/graphql":
        fields = {
            "operations": '{"query": "mutation($f: Upload!) { uploadSalesData(file: $f, '
            'dataSourceName: \\"sales\\") { taskId } }", "variables": {"f": null}}',
            "map": '{"0": ["variables.f"]}',
        }
        name = "0"
    else:
        fields = {"datasource_name": "sales"}
        name = "file"
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nInvoice ID,Branch\r\n"
    )
    return "".join(parts).encode()


def send_chunked(
    url: str, path: str, token: str | None = None, method: str = "POST", json: bool = False
) -> tuple[bytes, int, bool]:
    """Send a chunked multipart upload (or a JSON body) until the server answers; returns (what
    it answered, bytes sent, whether the server closed the connection)."""
    where = urllib.parse.urlsplit(url)
    sock = socket.create_connection((where.hostname or "127.0.0.1", where.port or 80), timeout=10)
    authorization = f"Authorization: Bearer {token}\r\n" if token else ""
    kind = "application/json" if json else f"multipart/form-data; boundary={BOUNDARY}"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: {kind}\r\nGraphQL-Preflight: 1\r\n{authorization}\r\n"
    ).encode()
    sock.sendall(head)
    body, sent, answer = (b'{"add": [' if json else multipart_head(path)), 0, b""
    row = (b'"x",' if json else b"123-45-6789,A\r\n") * 4096
    try:
        while sent < TOTAL:
            chunk = body or row
            body = b""
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
            if select.select([sock], [], [], 0)[0]:
                break
        closed = False
        sock.settimeout(5)
        while data := sock.recv(65536):  # until the server closes (or 5 s pass: not closed)
            answer += data
        closed = True
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    except TimeoutError:
        closed = False
    finally:
        sock.close()
    return answer, sent, closed


@pytest.mark.parametrize("path", ["/graphql", "/api/ingest/upload"])
def test_a_chunked_upload_past_the_limit_is_refused_at_once(
    embedded: Backend, tmp_path: Path, path: str
) -> None:
    env = process_env(embedded.env, MAX_UPLOAD_MB="1", WORKER_CONCURRENCY="0")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        answer, sent, closed = send_chunked(url, path)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"payload_too_large" in answer
    assert sent < 8 * 1024 * 1024, f"the server read {sent} bytes before refusing"
    assert closed, "the connection stays open after a 413: the rest of the body would be read"


def viewer_token(env: dict[str, str]) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "backend", "tokens", "create", "--name", "v", "--role", "viewer"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return made.stdout.splitlines()[0].strip()


def test_an_upload_without_an_uploaders_token_is_refused_before_its_body_is_read(
    embedded: Backend, tmp_path: Path
) -> None:
    """A 64 MB upload (under the default 500 MB limit) from an anonymous caller, a refused
    token or a viewer is answered 401/403 after at most a few MB, and the connection closed."""
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none", WORKER_CONCURRENCY="0")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        viewer = viewer_token(env)
        for path in ["/graphql", "/api/ingest/upload"]:
            for token, status in [(None, b"401"), ("not-a-token", b"401"), (viewer, b"403")]:
                answer, sent, closed = send_chunked(url, path, token)
                assert answer.startswith(b"HTTP/1.1 " + status), (path, answer[:300])
                assert sent < 8 * 1024 * 1024, f"{path}: the server read {sent} bytes first"
                assert closed, f"{path}: the connection stayed open: the body would be read"


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/api/datasources/sales"), ("POST", "/api/sigma/toggle-mode")],
)
def test_a_json_body_to_a_route_the_caller_may_not_use_is_refused_before_it_is_read(
    embedded: Backend, tmp_path: Path, method: str, path: str
) -> None:
    """FastAPI reads a route's body before its role check: the check now comes first."""
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none", WORKER_CONCURRENCY="0")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        viewer = viewer_token(env)
        for token, status in [(None, b"401"), (viewer, b"403")]:
            answer, sent, closed = send_chunked(url, path, token, method, json=True)
            assert answer.startswith(b"HTTP/1.1 " + status), (path, answer[:300])
            assert sent < 8 * 1024 * 1024, f"{path}: the server read {sent} bytes first"
            assert closed, f"{path}: the connection stayed open: the body would be read"

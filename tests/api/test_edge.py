"""The HTTP edge, before any route runs (over ASGI; tests/e2e/test_edge_server.py runs a real
uvicorn): only the configured host names are answered, every answer carries the security
headers and the pages a Content-Security-Policy without 'unsafe-inline' scripts, and numbers in
user input never reach int() unchecked."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from typing import Any

import pytest

from backend import redaction
from backend.api import edge
from backend.config import Settings
from backend.druid import urls
from backend.pipeline.sources.base import ReadError
from backend.pipeline.sources.excel_cells import sheet_index
from backend.schema import graphiql
from tests.conftest import App, Backend, app_for
from tests.factories import sales_csv, upload


def configured(backend: Backend, **settings: Any) -> Backend:
    return dataclasses.replace(backend, settings=backend.settings.model_copy(update=settings))


@pytest.mark.parametrize(
    "host", ["testserver", "localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST.", "api:8000"]
)
async def test_the_default_host_names_are_served(app: App, host: str) -> None:
    answer = await app.client.get("/api/ingest/tasks", headers={"Host": host})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", ["/api/ingest/tasks", "/graphql?query={__typename}", "/docs", "/"])
async def test_another_host_name_is_refused_before_any_route(app: App, path: str) -> None:
    answer = await app.client.get(path, headers={"Host": "evil.example"})
    assert answer.status_code == 400, answer.text
    assert "ALLOWED_HOSTS" in answer.json()["detail"]
    assert "evil" not in answer.text


async def test_an_upload_on_another_host_is_refused_and_no_url_names_it(app: App) -> None:
    app.client.headers["Host"] = "evil.example"
    refused = await upload(app.client, content=sales_csv(rows=3))
    assert refused.status_code == 400 and "evil.example" not in refused.text
    del app.client.headers["Host"]
    assert (await app.client.get("/api/ingest/tasks")).json()["total"] == 0


async def test_public_url_and_allowed_hosts_name_the_hosts(embedded: Backend) -> None:
    settings = configured(
        embedded, public_url="https://sales.example.com", allowed_hosts=["intranet", "testserver"]
    )
    async with app_for(settings) as app:
        for host, status in [
            ("sales.example.com", 200),
            ("intranet:8000", 200),
            ("localhost", 400),  # ALLOWED_HOSTS replaces the default list
            ("evil.example", 400),
        ]:
            answer = await app.client.get("/api/ingest/tasks", headers={"Host": host})
            assert answer.status_code == status, (host, answer.text)
        accepted = await upload(app.client, content=sales_csv(rows=3))
        assert accepted.json()["status_url"].startswith("https://sales.example.com/")


def test_host_settings_read_comma_separated_lists() -> None:
    settings = Settings(allowed_hosts="a.example, b.example", trusted_proxies="10.0.0.0/8,::1")  # type: ignore[arg-type]
    assert settings.allowed_hosts == ["a.example", "b.example"]
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="proxy.example")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/api/ingest/tasks", "/healthz", "/api/nothing-here"])
async def test_every_answer_carries_the_security_headers(app: App, path: str) -> None:
    answer = await app.client.get(path)
    assert "server" not in answer.headers
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.DOTALL)


@pytest.mark.parametrize("path", ["/graphql", "/docs", "/redoc", "/"])
async def test_pages_run_only_their_own_scripts_and_are_never_framed(app: App, path: str) -> None:
    answer = await app.client.get(path, headers={"Accept": "text/html"})
    assert answer.status_code in (200, 503), answer.text  # 503: assets or the app not built
    policy = answer.headers["content-security-policy"]
    directives = dict(d.strip().partition(" ")[::2] for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    for script in inline_scripts(answer.text):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["script-src"], path


def test_graphiqls_page_allows_its_one_inline_script() -> None:
    if not graphiql.assets_present():
        pytest.skip("GraphiQL's files are not installed: run make install")
    page = graphiql.page()
    assert len(inline_scripts(bytes(page.body).decode())) == 1
    assert "'sha256-" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    "expires", ["²", "١٢٣", "-5", "+5", " 5", "1e9", "9" * 13, "9" * 40, "1_000", "0x10"]
)
async def test_a_signed_file_url_with_a_malformed_expiry_is_refused_not_a_500(
    app: App, expires: str
) -> None:
    key = "druid/sales/0123abcd.json.gz"
    path = f"{urls.SIGNED_PREFIX}{key}"
    answer = await app.client.get(path, params={"expires": expires, "signature": "ab" * 32})
    assert answer.status_code == 403, (expires, answer.text)


def test_a_sheet_number_in_other_digits_is_an_unknown_sheet() -> None:
    for sheet in ["²", "١", "9" * 5000]:
        with pytest.raises(ReadError, match="no sheet named"):
            sheet_index(["Sales", "Notes"], sheet)
    assert sheet_index(["Sales", "Notes"], "2") == 1


def test_the_client_address_comes_through_trusted_proxies_only() -> None:
    proxies = edge.networks(["10.0.0.0/8", "::1"])
    # No proxy configured: the peer, whatever the header says.
    assert edge.client_of("203.0.113.7", ["198.51.100.1"], ()) == "203.0.113.7"
    # uvicorn's default already replaced the peer with the header's address: not believed.
    assert edge.client_of("198.51.100.1", ["198.51.100.1"], ()) == edge.UNVERIFIED
    # Through two trusted proxies, the last address that is not one of them.
    chain = ["192.0.2.1", "198.51.100.9", "10.0.0.3"]
    assert edge.client_of("10.0.0.2", chain, proxies) == "198.51.100.9"
    # A peer that is no proxy of ours is the client, even when it forwards.
    assert edge.client_of("203.0.113.7", chain, proxies) == "203.0.113.7"
    assert edge.client_of("::1", ["10.0.0.9"], proxies) == "10.0.0.9"  # all trusted: the first


async def test_a_trusted_proxy_says_the_scheme_of_links(embedded: Backend) -> None:
    settings = configured(embedded, trusted_proxies=["127.0.0.1"])  # httpx's ASGI peer
    async with app_for(settings) as app:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}
        accepted = await upload(app.client, content=sales_csv(rows=3))
        assert accepted.json()["status_url"].startswith("http://testserver/")
        app.client.headers.update(headers)
        again = await upload(app.client, content=sales_csv(rows=4))
        assert again.json()["status_url"].startswith("https://testserver/"), again.text


def test_spans_and_log_lines_carry_no_query_string_credential() -> None:
    from opentelemetry.sdk.trace import ReadableSpan

    from backend.monitoring.tracing import scrub

    span = ReadableSpan(
        name="GET /api/ingest/tasks",
        attributes={
            "url.query": "access_token=s3cr3t&limit=5",
            "url.full": "http://127.0.0.1:8000/api/ingest/tasks?limit=5&apiKey=s3cr3t",
            "http.target": "/graphql?query=%7Bx%7D&password=s3cr3t",
        },
    )
    sent = scrub(span).attributes or {}
    assert "s3cr3t" not in repr(dict(sent))
    assert sent["url.query"] == "access_token=REDACTED&limit=5"
    assert redaction.redact('"GET /x?token=a;session_id=b&sheet=2 HTTP/1.1" 200') == (
        '"GET /x?token=REDACTED;session_id=REDACTED&sheet=2 HTTP/1.1" 200'
    )


async def test_a_websocket_on_another_host_is_closed_before_the_app_sees_it() -> None:
    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    guard = edge.HostGuard(inner, ["localhost"])
    for host in [b"evil.example", b"localhost:8000"]:
        scope = {"type": "websocket", "path": "/graphql", "headers": [(b"host", host)]}
        await guard(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert reached == ["websocket"]  # only the allowed one


async def test_a_server_header_set_by_the_app_is_dropped() -> None:
    sent: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"server", b"x")]})

    async def send(message: Any) -> None:
        sent.append(message)

    await edge.SecurityHeaders(inner)({"type": "http", "headers": []}, None, send)  # type: ignore[arg-type]
    names = [name for name, _ in sent[0]["headers"]]
    assert b"server" not in names and b"x-frame-options" in names


async def test_a_refusal_before_the_body_says_connection_close_once(app: App) -> None:
    # Found by a hostile probe: GraphQL's 413 carried `connection: close` twice (its own answer
    # had it, and the body limit added it again for an answer sent before the body was read).
    big = b'{"query": "{ __typename }", "variables": {"v": "' + b"x" * (3 * 1024 * 1024) + b'"}}'
    kinds = {"Content-Type": "application/json"}
    answer = await app.client.post("/graphql", content=big, headers=kinds)
    assert answer.status_code == 413, answer.text[:300]
    assert answer.headers.get_list("connection") == ["close"], answer.headers

"""/docs (Swagger UI) and /redoc (ReDoc) work without internet: headless Chromium opens them on a real
uvicorn, sees the operations rendered, and Chromium's own network log shows that no request (failed
ones included) went anywhere but our server."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend
from tests.e2e.processes import process_env, uvicorn_server
from tests.e2e.test_graphiql_browser import CHROMIUM_FLAGS, WebDriver
from tests.services import free_port, unavailable

pytestmark = pytest.mark.slow


class LoggingWebDriver(WebDriver):
    def requested_urls(self) -> list[str]:
        """Every URL the page sent a request to since the last call, from Chromium's network
        events: failed requests count; those the browser blocked itself (by the page's
        Content-Security-Policy) were never sent."""
        entries = self.call("POST", "/se/log", {"type": "performance"})
        messages = [json.loads(entry["message"])["message"] for entry in entries]
        requested: list[tuple[str, str]] = []  # (request id, url): a redirect keeps its id
        blocked: set[str] = set()
        for message in messages:
            params = message["params"]
            if message["method"] == "Network.requestWillBeSent":
                requested.append((params["requestId"], params["request"]["url"]))
            elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
                blocked.add(params["requestId"])
        return [url for request, url in requested if request not in blocked]


@pytest.fixture
def browser() -> Iterator[LoggingWebDriver]:
    """Like test_graphiql_browser's, with Chromium's network log on (failed requests included)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        unavailable("headless Chromium is not installed: apt-get install chromium chromium-driver")
        raise AssertionError("unreachable")
    port = free_port()
    process = subprocess.Popen(
        [driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        _wait_for_driver(url)
        options = {"binary": chromium, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]}
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"performance": "ALL"},
        }
        created = httpx.post(
            f"{url}/session", json={"capabilities": {"alwaysMatch": capabilities}}, timeout=60
        )
        created.raise_for_status()
        session = created.json()["value"]["sessionId"]
        try:
            yield LoggingWebDriver(url, session)
        finally:
            httpx.delete(f"{url}/session/{session}", timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _wait_for_driver(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/status", timeout=2).json()["value"]["ready"]:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "chromedriver did not start"
        time.sleep(0.1)


def _elsewhere(server: str, urls: list[str]) -> list[str]:
    """The requests that would leave the machine (data:, blob: and chrome: URLs never do)."""
    network = [u for u in urls if u.startswith(("http:", "https:", "ws:", "wss:"))]
    return [u for u in network if not u.startswith(f"{server}/")]


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_swagger_ui_and_redoc_render_from_local_files_only(
    backend: Backend, browser: LoggingWebDriver, tmp_path: Path
) -> None:
    with uvicorn_server(process_env(backend.env), tmp_path / "server.log") as server:
        browser.requested_urls()  # the start-up page's, not ours
        browser.call("POST", "/url", {"url": f"{server}/docs"})
        operations = browser.wait_for(
            "const ops = [...document.querySelectorAll('.opblock-summary-path')]"
            ".map(e => e.innerText.replace(/\\u200b/g, '')); "
            "return ops.length ? ops : null"
        )
        docs_requests = browser.requested_urls()

        browser.call("POST", "/url", {"url": f"{server}/redoc"})
        redoc_text = browser.wait_for(
            "const t = document.body.innerText; "
            "return t.includes('Liveness: the event loop turns on time') ? t : null"
        )
        redoc_requests = browser.requested_urls()

    assert "/api/ingest/upload" in operations and "/readyz" in operations, operations
    assert "Upload" in redoc_text
    assert f"{server}/openapi.json" in docs_requests and f"{server}/openapi.json" in redoc_requests
    assert not _elsewhere(server, docs_requests), docs_requests
    assert not _elsewhere(server, redoc_requests), redoc_requests

"""GraphiQL works without internet: headless Chromium (driven over WebDriver by chromedriver) opens
/graphql on a real uvicorn, runs a query, sees the result, and loaded nothing from elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import Backend
from tests.e2e.processes import ROOT, process_env, uvicorn_server, wait_for_status
from tests.services import free_port, unavailable

pytestmark = pytest.mark.slow
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class WebDriver:
    def __init__(self, url: str, session: str) -> None:
        self.base = f"{url}/session/{session}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.base}{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()["value"]

    def script(self, source: str) -> Any:
        return self.call("POST", "/execute/sync", {"script": source, "args": []})

    def wait_for(self, source: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.script(source)
            if value:
                return value
            time.sleep(0.2)
        page = self.script("return document.documentElement.outerHTML.slice(0, 2000)")
        raise AssertionError(f"timed out waiting for: {source}\npage: {page}")


@pytest.fixture
def browser() -> Iterator[WebDriver]:
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
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/status", timeout=2).json()["value"]["ready"]:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.1)
        options = {"binary": chromium, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]}
        created = httpx.post(
            f"{url}/session",
            json={
                "capabilities": {
                    "alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}
                }
            },
            timeout=60,
        )
        created.raise_for_status()
        session = created.json()["value"]["sessionId"]
        try:
            yield WebDriver(url, session)
        finally:
            httpx.delete(f"{url}/session/{session}", timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_graphiql_page_runs_a_query_with_only_local_assets(
    backend: Backend, browser: WebDriver, tmp_path: Path
) -> None:
    with uvicorn_server(process_env(backend.env), tmp_path / "server.log") as server:
        with (ROOT / "data.csv").open("rb") as handle:
            accepted = httpx.post(
                f"{server}/api/ingest/upload",
                files={"file": ("data.csv", handle)},
                data={"datasource_name": "sales"},
            )
        wait_for_status(server, accepted.json()["task_id"], {"succeeded"})

        query = "{ salesSummary { transactions } }"
        browser.call("POST", "/url", {"url": f"{server}/graphql?q={quote(query)}"})
        browser.wait_for("return document.querySelector('.graphiql-execute-button') !== null")
        browser.script("document.querySelector('.graphiql-execute-button').click()")
        shown = browser.wait_for(
            "const r = document.querySelector('.graphiql-response'); "
            "return r && r.innerText.includes('transactions') ? r.innerText : null"
        )
        resources = browser.script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )

    assert '"transactions": 1000' in shown
    assert resources and all(name.startswith(server) for name in resources), resources

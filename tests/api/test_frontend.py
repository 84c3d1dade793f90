"""The React app at /: hashed assets cached for a year, index.html revalidated, client-side routes
answered with index.html, a clear page while nothing is built, and the API untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from backend.api.errors import install_error_handlers
from backend.api.frontend import IMMUTABLE, build_router
from tests.conftest import Backend, app_for

INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head></html>'


def built(dist: Path) -> Path:
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX, encoding="utf-8")
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')", encoding="utf-8")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>", encoding="utf-8")
    return dist


async def client_for(dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(build_router(dist))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in client_for(built(tmp_path / "dist")):
        yield client


async def test_index_is_revalidated_and_hashed_assets_are_cached_for_a_year(
    site: httpx.AsyncClient,
) -> None:
    page = await site.get("/")
    assert page.status_code == 200
    assert page.text == INDEX
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"

    asset = await site.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert asset.text == "console.log('app')"
    assert asset.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert "javascript" in asset.headers["content-type"]

    icon = await site.get("/favicon.svg")
    assert icon.status_code == 200 and icon.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("route", ["/upload", "/tasks/0b5c9a", "/status", "/performance?x=1"])
async def test_client_side_routes_get_index_html(site: httpx.AsyncClient, route: str) -> None:
    answer = await site.get(route)
    assert answer.status_code == 200
    assert answer.text == INDEX
    assert answer.headers["cache-control"] == "no-cache"


async def test_a_missing_asset_is_a_404_not_the_index(site: httpx.AsyncClient) -> None:
    answer = await site.get("/assets/index-old999.js")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
    assert "immutable" not in answer.headers.get("cache-control", "")


@pytest.mark.parametrize("path", ["/assets/../../etc/passwd", "/..%2F..%2Fetc%2Fpasswd"])
async def test_nothing_outside_the_build_is_served(site: httpx.AsyncClient, path: str) -> None:
    answer = await site.get(path)
    assert "root:" not in answer.text
    assert answer.status_code in (200, 404)  # index.html for an odd client route, or not found


async def test_without_a_build_a_page_says_to_run_make_install(tmp_path: Path) -> None:
    async for client in client_for(tmp_path / "no-dist"):
        for route in ("/", "/tasks"):
            answer = await client.get(route)
            assert answer.status_code == 503
            assert answer.headers["content-type"].startswith("text/html")
            assert "make install" in answer.text
            assert answer.headers["cache-control"] == "no-store"


async def test_the_api_docs_and_probes_still_answer_in_the_real_app(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        client = app.client
        assert (await client.get("/healthz")).json()
        health = await client.get("/api/health")
        assert health.status_code == 200 and "checks" in health.json()
        graphql = await client.post("/graphql", json={"query": "{ sigmaStatus { mode } }"})
        assert graphql.json()["data"]["sigmaStatus"]["mode"] == "STANDALONE"
        assert (await client.get("/docs")).status_code in (200, 503)  # 503: docs assets not fetched
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/" not in paths and "/{route}" not in paths and "/{route:path}" not in paths
        for unknown in ("/api/no-such-route", "/graphqlx", "/metrics/extra"):
            answer = await client.get(unknown)
            assert answer.status_code == 404, unknown
            assert answer.json()["code"] == "not_found"
        # A long unknown path is not echoed whole (60 kB of it came back in the message).
        long = await client.get("/api/ingest/tasks/" + "a" * 60_000)
        assert long.status_code == 404 and len(long.content) < 1000, len(long.content)
        # Unknown writes keep the API's answer (405 from the GET-only catch-all, never the app).
        assert (await client.post("/api/no-such-route")).status_code in (404, 405)
        root = await client.get("/", headers={"Authorization": ""})
        assert root.status_code in (200, 503)  # 503 until `make install` built frontend/dist
        assert root.headers["content-type"].startswith("text/html")
        assert (await client.get("/dashboard/deep/link")).text == root.text


async def test_head_answers_like_get_without_a_body(site: httpx.AsyncClient) -> None:
    for path in ("/", "/assets/index-abc123.js", "/tasks"):
        answer = await site.head(path)
        assert answer.status_code == 200, path
        assert answer.content == b""

"""The React app (frontend/dist, built by `make install`) at /, for anyone: static files only.

Every figure the pages show comes from /graphql and /api, which check the caller's token; these
routes hand out the same files to everyone, so they state no role (tests/auth/test_roles.py lists
them as public). Included last: every API route, the docs and GraphiQL win over the catch-all.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend import threads
from backend.api.errors import FALLBACK_ROUTE, allowed_methods
from backend.errors import NotFound
from backend.page_policy import policy_for

DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
# Vite names what it puts under assets/ after a hash of the content: a new build, a new name.
IMMUTABLE = "public, max-age=31536000, immutable"
# index.html names the current hashes: the browser asks again each time (a 304 when unchanged).
REVALIDATE = "no-cache"
# Paths the app's own routes own: an unknown one is a 404 in the API's shape, never index.html.
RESERVED = ("api/", "graphql", "docs", "redoc", "openapi.json", "healthz", "readyz", "metrics")

# Vite's build loads its scripts from files (no inline script), so none is allowed.
APP_POLICY = policy_for("")

_MISSING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Frontend not built</title></head>
<body><main>
<h1>The frontend is not built</h1>
<p>This service serves its React app from <code>frontend/dist</code>, which does not exist yet.
Build it with <code>make install</code> (it needs <code>npm</code>; on Debian
<code>apt-get install npm</code>), then reload this page.</p>
<p>The API works meanwhile: <a href="/docs">REST documentation</a>, <a href="/graphql">GraphQL</a>.</p>
</main></body></html>
"""


async def _is_file(path: Path) -> bool:
    return await threads.FILES.run(path.is_file)


def _inside(dist: Path, relative: str) -> Path | None:
    """The file `relative` names under dist, or None when it would leave dist."""
    root = dist.resolve()
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root) and candidate != root else None


def build_router(dist: Path = DIST) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def index() -> Response:
        page = dist / "index.html"
        if not await _is_file(page):
            return HTMLResponse(
                _MISSING,
                status_code=503,
                headers={"Cache-Control": "no-store", "Content-Security-Policy": APP_POLICY},
            )
        return FileResponse(
            page,
            media_type="text/html",
            headers={"Cache-Control": REVALIDATE, "Content-Security-Policy": APP_POLICY},
        )

    @router.api_route("/", methods=["GET", "HEAD"], summary="The React app")
    async def app_root() -> Response:
        return await index()

    @router.api_route(
        "/assets/{name:path}",
        methods=["GET", "HEAD"],
        summary="The app's hashed assets, cached for a year",
    )
    async def asset(name: str) -> Response:
        path = _inside(dist / "assets", name)
        if path is None or not await _is_file(path):
            raise NotFound(f"no asset {name}", "Reload the page: the app was rebuilt since.")
        return FileResponse(path, headers={"Cache-Control": IMMUTABLE})

    @router.api_route(
        "/{route:path}",
        name=FALLBACK_ROUTE,
        methods=["GET", "HEAD"],
        summary="A client-side route: index.html (or a file of dist/)",
    )
    async def client_route(route: str, request: Request) -> Response:
        if route.startswith(RESERVED):
            if allowed_methods(request):  # an API path, another method: 405 with its Allow
                raise StarletteHTTPException(405)
            shown = route if len(route) <= 120 else f"{route[:120]}…"  # the path is the caller's
            raise NotFound(f"no route /{shown}", "See /docs for the REST API and /graphql.")
        path = _inside(dist, route)
        if path is not None and await _is_file(path):  # favicon.svg and the like: not hashed
            return FileResponse(path, headers={"Cache-Control": REVALIDATE})
        return await index()

    return router


router = build_router()

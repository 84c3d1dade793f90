"""The OpenAPI pages, /docs (Swagger UI) and /redoc (ReDoc), served entirely by the app: FastAPI's
defaults load both from a CDN, so they are blank offline. Their files are pinned npm packages
fetched at install time (`python -m backend assets`) and served from /docs-assets."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from backend import npm_assets
from backend.npm_assets import Package
from backend.page_policy import policy_for

ASSETS_DIR = npm_assets.STATIC_DIR / "docs"
URL_PREFIX = "/docs-assets"
TITLE = "Sales ingestion and analytics"

PACKAGES = (
    Package(
        "swagger-ui-dist@5.35.0",
        "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==",
        {
            "package/swagger-ui-bundle.js": "swagger-ui-bundle.js",
            "package/swagger-ui.css": "swagger-ui.css",
            "package/favicon-32x32.png": "favicon-32x32.png",
            "package/LICENSE": "LICENSE.swagger-ui",
            "package/NOTICE": "NOTICE.swagger-ui",
            "package/swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
        },
    ),
    # ReDoc 2, as FastAPI's own page uses (ReDoc 3 is an ES module and reports telemetry).
    Package(
        "redoc@2.5.4",
        "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
        {
            "package/bundles/redoc.standalone.js": "redoc.standalone.js",
            "package/bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
            "package/LICENSE": "LICENSE.redoc",
        },
    ),
)
REQUIRED = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "redoc.standalone.js")

router = APIRouter(include_in_schema=False)

_MISSING = """<!doctype html><html><body style="font-family: sans-serif; margin: 2em">
<h1>The API documentation's files are not installed</h1>
<p>This server serves Swagger UI and ReDoc itself (it never loads them from a CDN). Fetch their
files once with <code>make install</code> (or <code>python -m backend assets</code>), then reload.</p>
<p>The OpenAPI document itself is at <a href="{openapi}">{openapi}</a>.</p></body></html>"""


def assets_present() -> bool:
    return npm_assets.present(ASSETS_DIR, REQUIRED)


def fetch_assets() -> None:
    npm_assets.fetch(ASSETS_DIR, PACKAGES)


def _url(request: Request, path: str) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/") + path


def _local_only(page: HTMLResponse) -> HTMLResponse:
    """The page may load only from this server (ReDoc's sidebar has a logo on a CDN: an error
    hides it), run only its own inline script, and is never framed."""
    page.headers["Content-Security-Policy"] = policy_for(bytes(page.body).decode())
    return page


def _missing(request: Request) -> HTMLResponse:
    openapi = _url(request, request.app.openapi_url)
    return _local_only(HTMLResponse(_MISSING.format(openapi=openapi), status_code=503))


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    if not assets_present():
        return _missing(request)
    assets = _url(request, URL_PREFIX)
    page = get_swagger_ui_html(
        openapi_url=_url(request, request.app.openapi_url),
        title=f"{TITLE} · Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        # The default sends the spec to validator.swagger.io for a badge: nothing leaves the page.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return _local_only(page)


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    if not assets_present():
        return _missing(request)
    assets = _url(request, URL_PREFIX)
    page = get_redoc_html(
        openapi_url=_url(request, request.app.openapi_url),
        title=f"{TITLE} · ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon-32x32.png",
        with_google_fonts=False,
    )
    return _local_only(page)


def mount(app: FastAPI) -> None:
    ASSETS_DIR.mkdir(parents=True, exist_ok=True)
    app.include_router(router)
    app.mount(URL_PREFIX, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

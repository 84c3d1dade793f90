"""GraphiQL served entirely by the app (no CDN): our page, and React + GraphiQL's built files
fetched once from the npm registry at install time (`python -m backend assets`, run by
`make install`), checked against pinned hashes, and served from /graphiql-assets."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from backend import npm_assets
from backend.npm_assets import Package
from backend.page_policy import policy_for

ASSETS_DIR = npm_assets.STATIC_DIR / "graphiql"
URL_PREFIX = "/graphiql-assets"

PACKAGES = (
    Package(
        "react@18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        {
            "package/umd/react.production.min.js": "react.production.min.js",
            "package/LICENSE": "LICENSE.react",
        },
    ),
    Package(
        "react-dom@18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        {
            "package/umd/react-dom.production.min.js": "react-dom.production.min.js",
            "package/LICENSE": "LICENSE.react-dom",
        },
    ),
    Package(
        "graphiql@3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        {
            "package/graphiql.min.js": "graphiql.min.js",
            "package/graphiql.min.css": "graphiql.min.css",
            "package/LICENSE": "LICENSE.graphiql",
        },
    ),
)
REQUIRED = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
)


def assets_present() -> bool:
    return npm_assets.present(ASSETS_DIR, REQUIRED)


def fetch_assets() -> None:
    npm_assets.fetch(ASSETS_DIR, PACKAGES)


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>GraphiQL · Sales ingestion and analytics</title>
  <link rel="stylesheet" href="{prefix}/graphiql.min.css">
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{prefix}/react.production.min.js"></script>
  <script src="{prefix}/react-dom.production.min.js"></script>
  <script src="{prefix}/graphiql.min.js"></script>
  <script>
    const params = new URLSearchParams(window.location.search);
    const example = "# Try the dashboard:\\n{{\\n  salesSummary {{ totalSales transactions averageRating }}\\n}}\\n";
    const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{
        fetcher,
        defaultQuery: params.get("q") || example,
        defaultEditorToolsVisibility: true,
      }})
    );
  </script>
</body>
</html>
"""

_PAGE_HTML = _PAGE.format(prefix=URL_PREFIX)
_PAGE_POLICY = policy_for(_PAGE_HTML)  # its one inline script, by hash

_MISSING = """<!doctype html><html><body style="font-family: sans-serif; margin: 2em">
<h1>GraphiQL's files are not installed</h1>
<p>This server serves GraphiQL itself (it never loads it from a CDN). Fetch its files once with
<code>make install</code> (or <code>python -m backend assets</code>), then reload.</p>
<p>GraphQL itself works: POST queries to this URL.</p></body></html>"""


def page() -> HTMLResponse:
    if not assets_present():
        return HTMLResponse(_MISSING, headers={"Content-Security-Policy": policy_for(_MISSING)})
    return HTMLResponse(_PAGE_HTML, headers={"Content-Security-Policy": _PAGE_POLICY})


def mount(app: FastAPI) -> None:
    ASSETS_DIR.mkdir(parents=True, exist_ok=True)
    app.mount(URL_PREFIX, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")

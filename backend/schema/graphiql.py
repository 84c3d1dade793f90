"""GraphiQL served entirely by the app (no CDN): our page, and React + GraphiQL's built files
fetched once from the npm registry at install time (`python -m backend assets`, run by
`make install`), checked against pinned hashes, and served from /graphiql-assets."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"
URL_PREFIX = "/graphiql-assets"


@dataclass(frozen=True)
class Package:
    spec: str  # name@version on the npm registry
    integrity: str  # sha512 of the package tarball, as npm records it
    files: dict[str, str]  # file in the tarball -> name served


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


def assets_present(directory: Path = ASSETS_DIR) -> bool:
    return all((directory / name).is_file() for name in REQUIRED)


def fetch_assets(directory: Path = ASSETS_DIR) -> None:
    """Download the pinned packages with `npm pack`, verify them, and keep the files we serve."""
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed once to fetch GraphiQL's files: install Node.js and npm")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(
            ["npm", "pack", "--json", "--silent", *(p.spec for p in PACKAGES)],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        names = {entry["id"]: entry["filename"] for entry in json.loads(packed.stdout)}
        for package in PACKAGES:
            _extract(Path(tmp) / names[package.spec], package, directory)


def _extract(tarball: Path, package: Package, directory: Path) -> None:
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != package.integrity:
        raise SystemExit(f"{package.spec}: the downloaded package does not match its pinned hash")
    with tarfile.open(tarball) as archive:
        for member, name in package.files.items():
            source = archive.extractfile(member)
            if source is None:
                raise SystemExit(f"{package.spec}: {member} is missing")
            (directory / name).write_bytes(source.read())


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

_MISSING = """<!doctype html><html><body style="font-family: sans-serif; margin: 2em">
<h1>GraphiQL's files are not installed</h1>
<p>This server serves GraphiQL itself (it never loads it from a CDN). Fetch its files once with
<code>make install</code> (or <code>python -m backend assets</code>), then reload.</p>
<p>GraphQL itself works: POST queries to this URL.</p></body></html>"""


def page() -> HTMLResponse:
    if not assets_present():
        return HTMLResponse(_MISSING)
    return HTMLResponse(_PAGE.format(prefix=URL_PREFIX))


def mount(app: FastAPI) -> None:
    ASSETS_DIR.mkdir(parents=True, exist_ok=True)
    app.mount(URL_PREFIX, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")

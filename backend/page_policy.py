"""The Content-Security-Policy of the pages the service serves (GraphiQL, the API docs, the React
app): everything from this origin, never framed, and inline scripts only by the hash of the
script the page carries (`'unsafe-inline'` would run any script injected into the page)."""

from __future__ import annotations

import base64
import hashlib
import re

# An inline script: a <script> element with no src, its text up to </script>.
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)

BASE = (
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    # GraphiQL, Swagger UI and ReDoc set style attributes from their scripts.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    # ReDoc searches in a worker it builds from a blob.
    "worker-src 'self' blob:",
)


def script_hashes(html: str) -> list[str]:
    digests = (hashlib.sha256(s.encode()).digest() for s in _INLINE_SCRIPT.findall(html))
    return [f"'sha256-{base64.b64encode(d).decode()}'" for d in digests]


def policy_for(html: str) -> str:
    """The policy of a page: BASE, and scripts from this origin or inline with these hashes."""
    return "; ".join((*BASE, " ".join(("script-src 'self'", *script_hashes(html)))))

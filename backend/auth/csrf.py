"""Cross-site request forgery: a browser on another site may send a "simple" POST (a form, or
text/plain) with no preflight. Bearer tokens are never sent by a browser on its own, but a
trusted-network setup (AUTH_ANONYMOUS_ROLE) would let such a POST write. So every write whose
browser says it comes from another site (Sec-Fetch-Site: cross-site, or an Origin that is neither
this server nor one of CORS_ORIGINS) is refused before it reaches a route."""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site(headers: Headers, allowed_origins: Iterable[str]) -> bool:
    """Whether the browser says the request comes from another site's page: Sec-Fetch-Site
    says cross-site, or an Origin that is neither this server nor one of `allowed_origins`."""
    origin = (headers.get("origin") or "").rstrip("/").lower()
    if origin and origin in {o.rstrip("/").lower() for o in allowed_origins}:
        return False
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    if not origin or origin == "null":
        return origin == "null"  # sandboxed documents and data: URLs send "null"
    host = headers.get("host", "").lower()
    return origin.split("://", 1)[-1] != host


class CrossSiteGuard:
    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins}

    def _cross_site(self, scope: Scope) -> bool:
        return cross_site(Headers(scope=scope), self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or not self._cross_site(scope)
        ):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": "a write from another site's page is refused",
                "detail": "Call the API from this site, with a bearer token, or add the page's "
                "origin to CORS_ORIGINS.",
                "code": "cross_site_request",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

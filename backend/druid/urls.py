"""Short-lived signed URLs through which Druid reads our dataset copies.

A local-folder store serves its files itself: the URL carries an expiry and an HMAC-SHA256 over
the object key and that expiry, checked in constant time. S3 stores hand out presigned GETs. In
both cases Druid needs no credentials of its own. Signatures never reach users or logs: every
text shown passes through `backend.redaction.redact`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse

from backend.digits import ascii_count

SIGNED_PREFIX = "/api/druid/files/"
# Shown in a stored spec where the signature of a URL goes (added when the task is submitted).
SIGNED_LATER = "signature=REDACTED"


def _mac(secret: bytes, key: str, expires: int) -> str:
    message = f"{key}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(base_url: str, key: str, secret: bytes, ttl_seconds: int, now: float | None = None) -> str:
    """A URL for `key` under `base_url` that `verify` accepts until `ttl_seconds` from now."""
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    query = urllib.parse.urlencode({"expires": expires, "signature": _mac(secret, key, expires)})
    return f"{signed_path(base_url, key)}?{query}"


def signed_path(base_url: str, key: str) -> str:
    return f"{base_url.rstrip('/')}{SIGNED_PREFIX}{urllib.parse.quote(key, safe='/')}"


def verify(
    key: str, expires: str | None, signature: str | None, secret: bytes, now: float | None = None
) -> bool:
    """True when the signature is ours for this key and expiry, and the expiry has not passed."""
    moment = ascii_count(expires, max_digits=12)
    if moment is None or not signature:
        return False
    expected = _mac(secret, key, moment)
    valid = hmac.compare_digest(expected.encode(), signature.encode()[:128])
    return valid and moment >= (now if now is not None else time.time())

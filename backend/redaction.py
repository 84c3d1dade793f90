"""What must never reach an answer or a log: server file paths, credentials in URLs, and URL
signatures. `scrub` removes them from any text shown to a client (error details, health
reasons, task errors, the recent-log view)."""

from __future__ import annotations

import re

# Query parameters that make a URL usable: ours, and those of S3's SigV2/SigV4 presigned URLs.
_SECRET_PARAMS = (
    "signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "Signature",
    "AWSAccessKeyId",
)
_SECRET_VALUE = re.compile(
    r"(?i)\b(" + "|".join(re.escape(p) for p in _SECRET_PARAMS) + r")=([^&\s\"'<>\\]+)"
)
# Any query parameter whose name says it holds a credential (?access_token=, &api_key=,
# ?password=, ...): a client may put its token in a URL, and the access log writes URLs.
# A query string alone (a span's url.query) starts with a parameter.
_CREDENTIAL_PARAM = re.compile(
    r"(?i)((?:^|[?&;])[\w.\-%]*(?:token|key|secret|passw|pwd|signature|sig(?![a-z])|credential|auth|session"
    r"|jwt|bearer)[\w.\-%]*)=([^&;#\s\"'<>\\]+)"
)
# Credentials by their shape, wherever they stand (a path, an unnamed parameter, a header
# echoed into a line): our API tokens (`sit_` + 38 letters and digits) and JWTs.
_CREDENTIAL_SHAPE = re.compile(r"\bsit_[A-Za-z0-9]{30,}|\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*")
REDACTED = "REDACTED"


def redact(text: str) -> str:
    """The text with the value of every URL signature or credential parameter replaced."""
    text = _SECRET_VALUE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _CREDENTIAL_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _CREDENTIAL_SHAPE.sub(REDACTED, text)


# An absolute path of two or more parts (/var/lib/x, /tmp/ingest-1/source), not inside a URL
# (the part after a host is preceded by a word character or ':' and is left alone).
_PATH = re.compile(r"(?<![\w:/.\-])/(?:[\w.\-@+~]+/)+[\w.\-@+~]*")
# The service's own API paths are public (README lists them) and messages name them as what to
# do ("POST /api/ingest/tasks/ID/retry"): they are kept, while server folders are not.
_API_PATH = re.compile(r"/api/(?:ingest|datasources|health|database|sigma)(?:/|$)")
# A URL with no host names a local file (sqlite+aiosqlite:////var/lib/x.db, file:///srv/x).
_LOCAL_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*:///)[^\s'\",)]+")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@")


def scrub(text: str) -> str:
    text = redact(text)
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    text = _LOCAL_URL.sub(r"\1<path>", text)
    return _PATH.sub(_hidden, text)


def _hidden(found: re.Match[str]) -> str:
    path = found.group()
    return path if _API_PATH.match(path) else "<path>"

"""What must never reach an answer or a log: server file paths, credentials in URLs, and URL
signatures. `scrub` removes them from any text shown to a client (error details, health
reasons, task errors, the recent-log view)."""

from __future__ import annotations

import re

from backend.druid.urls import redact

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

"""Process-wide logging from LOG_LEVEL; no record carries a URL signature or credential."""

from __future__ import annotations

import logging
from typing import Any

from backend.druid.urls import redact

_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every record, whoever logs it (httpx logs the URLs it requests), with signed URLs'
    signatures redacted before any handler sees it."""
    record = _base_factory(*args, **kwargs)
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    # Arguments stay a tuple (uvicorn's access formatter unpacks them), each text redacted.
    if isinstance(record.args, tuple):
        record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
    return record


def configure_logging(level: str) -> None:
    logging.setLogRecordFactory(_redacting_factory)
    root = logging.getLogger()
    if not any(getattr(h, "_backend", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._backend = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO (Druid polls, S3); our own records say what matters.
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))

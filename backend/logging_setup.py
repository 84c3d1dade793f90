"""Process-wide logging from LOG_LEVEL and LOG_FORMAT (text, or one JSON object per line); every
record carries the request id or task id it was written for (and the trace's id when traces are
on), and no URL signature or credential."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.monitoring import tracing
from backend.redaction import redact

_base_factory = logging.getLogRecordFactory()


# Set per HTTP request (backend.main's RequestId layer) and per task run (the worker's runner).
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
TASK_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every record, whoever logs it (httpx logs the URLs it requests), with signed URLs'
    signatures redacted before any handler sees it, and the request or task it belongs to."""
    record = _base_factory(*args, **kwargs)
    request_id, task_id = REQUEST_ID.get(), TASK_ID.get()
    trace_id = tracing.current_trace_id()
    ids = [f"request={request_id}"] if request_id else []
    ids += [f"task={task_id}"] if task_id else []
    ids += [f"trace={trace_id}"] if trace_id else []
    record.__dict__.update(
        request_id=request_id,
        task_id=task_id,
        trace_id=trace_id,
        ids=f" [{' '.join(ids)}]" if ids else "",
    )
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    # Arguments stay a tuple (uvicorn's access formatter unpacks them), each text redacted.
    if isinstance(record.args, tuple):
        record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
    return record


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, request_id / task_id /
    trace_id when set, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "task_id", "trace_id"):
            if getattr(record, name, None):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT = "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"


def configure_logging(level: str, fmt: str = "text") -> None:
    logging.setLogRecordFactory(_redacting_factory)
    root = logging.getLogger()
    formatter = JsonLines() if fmt == "json" else logging.Formatter(TEXT)
    ours = [h for h in root.handlers if getattr(h, "_backend", False)]
    if not ours:
        stream = logging.StreamHandler()
        stream._backend = True  # type: ignore[attr-defined]
        root.addHandler(stream)
        ours = [stream]
    for handler in ours:
        handler.setFormatter(formatter)
    if fmt == "json":
        # uvicorn's own lines (start-up, access log) through the same JSON handler.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
    root.setLevel(level)
    # httpx logs every request at INFO (Druid polls, S3); our own records say what matters.
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEADER = b"x-request-id"


class RequestIds:
    """Every HTTP request gets an id: the caller's `X-Request-ID` when it is a plain token of up
    to 64 characters (a proxy's), else a new one. Its log records carry it, and the response
    says it in `X-Request-ID`, so a user's report can be found in the logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(HEADER, b"").decode("latin-1")
        plain = _REQUEST_ID.fullmatch(given) and redact(given) == given  # never a credential
        request_id = given if plain else uuid.uuid4().hex[:16]
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)

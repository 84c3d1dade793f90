"""The application's own measurements: requests per route template (a middleware), process CPU
and memory, recent log records (a ring buffer); exported by backend.monitoring.metrics."""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import resource
import threading
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.monitoring.metrics import UNMATCHED, Registry
from backend.monitoring.routes import is_operation, known_operation, label
from backend.redaction import scrub

LOG_RECORDS = 200
# The request state's key under which the GraphQL view names the operation it ran.
OPERATION_STATE = "graphql_operation"


class Metrics:
    """This process's measurements: the Prometheus registry (backend.monitoring.metrics), read by
    both /metrics and the performance page, and when the process started."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.started_at = dt.datetime.now(dt.UTC)
        self.registry = Registry()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Times every HTTP request by its route template (a plain ASGI layer: Starlette's
        BaseHTTPMiddleware costs a task group and a body stream per request)."""

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def noting_send(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, noting_send)
            finally:
                route = scope.get("route")
                path = getattr(route, "path", None) or UNMATCHED
                operation = known_operation((scope.get("state") or {}).get(OPERATION_STATE))
                self.registry.observe_request(
                    scope["method"], path, status, time.perf_counter() - started, operation
                )

        return timed


class RingBuffer(logging.Handler):
    """Keeps the latest log records of this process, for the operators' page."""

    def __init__(self, size: int = LOG_RECORDS) -> None:
        super().__init__(level=logging.INFO)
        self.records: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            {
                "at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
                "level": record.levelname,
                "logger": record.name,
                "message": scrub(record.getMessage())[:1000],
            }
        )


LOG_BUFFER = RingBuffer()


def install_log_buffer() -> None:
    root = logging.getLogger()
    if LOG_BUFFER not in root.handlers:
        root.addHandler(LOG_BUFFER)


def process_usage(metrics: Metrics) -> dict[str, Any]:
    """CPU time and memory of this process: the Prometheus process collector's figures (CPU
    split into user and system time by getrusage)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    collected = {
        sample.name: sample.value
        for family in metrics.registry.process.collect()
        for sample in family.samples
    }
    rss = collected.get("process_resident_memory_bytes")
    return {
        "pid": os.getpid(),
        "cpu_seconds": collected.get("process_cpu_seconds_total"),
        "cpu_user_seconds": round(usage.ru_utime, 3),
        "cpu_system_seconds": round(usage.ru_stime, 3),
        "rss_bytes": int(rss) if rss is not None else None,
        "rss_reason": None if rss is not None else "the process collector needs /proc (Linux)",
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "open_fds": collected.get("process_open_fds"),
        "threads": threading.active_count(),
    }


def summary(metrics: Metrics, logs: RingBuffer) -> dict[str, Any]:
    routes = {
        name: {"label": label(name), **route} for name, route in metrics.registry.routes().items()
    }
    return {
        "started_at": metrics.started_at.isoformat(),
        "uptime_seconds": round(time.monotonic() - metrics.started, 3),
        # The app's GraphQL operations are counted under POST /graphql as well.
        "requests": sum(r["requests"] for n, r in routes.items() if not is_operation(n)),
        "errors": sum(r["errors"] for n, r in routes.items() if not is_operation(n)),
        "routes": routes,
        "process": process_usage(metrics),
        "recent_logs": list(logs.records)[-50:],
    }


__all__ = [
    "LOG_BUFFER",
    "OPERATION_STATE",
    "Metrics",
    "RingBuffer",
    "install_log_buffer",
    "process_usage",
    "summary",
]

"""The application's own measurements: requests per route (a middleware), process CPU and memory,
recent log records (a ring buffer), and the Prometheus text format."""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.redaction import scrub

LATENCY_SAMPLES = 1024  # per route, the most recent
LOG_RECORDS = 200


@dataclass
class RouteStats:
    requests: int = 0
    errors: int = 0  # responses with status >= 500
    latencies: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=LATENCY_SAMPLES)
    )

    def percentiles(self) -> dict[str, float | None]:
        ordered = sorted(self.latencies)
        if not ordered:
            return {"p50": None, "p95": None, "p99": None}

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

        return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99)}


class Metrics:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.started_at = dt.datetime.now(dt.UTC)
        self.routes: dict[str, RouteStats] = collections.defaultdict(RouteStats)

    def observe(self, route: str, status: int, seconds: float) -> None:
        stats = self.routes[route]
        stats.requests += 1
        stats.errors += status >= 500
        stats.latencies.append(seconds * 1000)

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
                path = getattr(route, "path", None) or "unmatched"
                self.observe(f"{scope['method']} {path}", status, time.perf_counter() - started)

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


def process_usage() -> dict[str, Any]:
    """CPU time and memory of this process, from the kernel (Linux /proc; getrusage elsewhere)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss: int | None = None
    reason = None
    try:
        with open("/proc/self/statm") as handle:
            rss = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        reason = "current RSS needs /proc (Linux); peak RSS is given instead"
    return {
        "pid": os.getpid(),
        "cpu_user_seconds": round(usage.ru_utime, 3),
        "cpu_system_seconds": round(usage.ru_stime, 3),
        "rss_bytes": rss,
        "rss_reason": reason,
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "threads": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None,
    }


def summary(metrics: Metrics, logs: RingBuffer) -> dict[str, Any]:
    routes = {
        name: {"requests": s.requests, "errors": s.errors, "latency_ms": s.percentiles()}
        for name, s in sorted(metrics.routes.items())
    }
    return {
        "started_at": metrics.started_at.isoformat(),
        "uptime_seconds": round(time.monotonic() - metrics.started, 3),
        "requests": sum(s.requests for s in metrics.routes.values()),
        "errors": sum(s.errors for s in metrics.routes.values()),
        "routes": routes,
        "process": process_usage(),
        "recent_logs": list(logs.records)[-50:],
    }


def prometheus(metrics: Metrics) -> str:
    usage = process_usage()
    lines = [
        "# HELP app_uptime_seconds Seconds since the process started.",
        "# TYPE app_uptime_seconds gauge",
        f"app_uptime_seconds {time.monotonic() - metrics.started:.3f}",
        "# HELP process_cpu_seconds_total CPU time of the process.",
        "# TYPE process_cpu_seconds_total counter",
        f"process_cpu_seconds_total {usage['cpu_user_seconds'] + usage['cpu_system_seconds']:.3f}",
        "# HELP http_requests_total Requests by route.",
        "# TYPE http_requests_total counter",
    ]
    if usage["rss_bytes"] is not None:
        lines[4:4] = [
            "# HELP process_resident_memory_bytes Resident memory of the process.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {usage['rss_bytes']}",
        ]
    for name, stats in sorted(metrics.routes.items()):
        label = name.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'http_requests_total{{route="{label}"}} {stats.requests}')
    lines += [
        "# HELP http_request_errors_total 5xx responses by route.",
        "# TYPE http_request_errors_total counter",
    ]
    for name, stats in sorted(metrics.routes.items()):
        label = name.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'http_request_errors_total{{route="{label}"}} {stats.errors}')
    return "\n".join(lines) + "\n"


__all__ = [
    "LOG_BUFFER",
    "Metrics",
    "RingBuffer",
    "install_log_buffer",
    "prometheus",
    "process_usage",
    "summary",
]

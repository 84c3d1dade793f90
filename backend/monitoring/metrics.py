"""What the service exports to Prometheus, with prometheus-client: one registry per process
(the API's `/metrics`; a worker started by `python -m backend worker` serves its own on
WORKER_METRICS_PORT). The operators' performance page reads the same registry, so the page and
Prometheus never disagree.

Every label takes values from a fixed, small set: HTTP methods, route templates (never a raw
path or an id), status codes, task states and stages, engine and GraphQL field names."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.samples import Sample

from backend.monitoring.routes import operation_route

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a cached dashboard answer (~2 ms) to a slow upload or Druid call.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
STAGE_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a path no route serves (a 404): never the path itself


class Registry:
    """The metrics of one process (tests make one per app, so their counts start at zero)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds
        self.process = ProcessCollector(registry=self.registry)
        self._add_http(self.registry)
        self._add_ingest(self.registry)
        self._add_analytics(self.registry)
        self._add_druid(self.registry)

    def _add_http(self, r: CollectorRegistry) -> None:
        self.http = Histogram(
            "http_server_request_duration_seconds",
            "HTTP requests by method, route template and status code",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.graphql = Histogram(
            "graphql_operation_duration_seconds",
            "GraphQL requests over HTTP by the app's operation name (one of a fixed set; "
            "backend.monitoring.routes.OPERATIONS)",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def _add_ingest(self, r: CollectorRegistry) -> None:
        """Uploads, rows and tasks, the time in each stage, the queue and the workers."""
        self.upload_bytes = Counter(
            "ingest_upload_bytes", "Bytes of uploads accepted (202)", registry=r
        )
        self.upload_part_bytes = Counter(
            "upload_part_bytes",
            "Bytes this process received in upload sessions' parts (local folder storage; "
            "with S3 the parts go straight to S3)",
            registry=r,
        )
        self.rows = Counter(
            "ingest_rows",
            "Rows of finished tasks, by outcome (valid or rejected)",
            ["outcome"],
            registry=r,
        )
        self.tasks = Counter(
            "ingest_tasks", "Tasks that reached a final state, by state", ["status"], registry=r
        )
        self.stages = Histogram(
            "ingest_stage_duration_seconds",
            "Time tasks spent in each state before the next",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "ingest_queue_depth", "Tasks waiting for a worker (queued)", registry=r
        )
        self.queue_oldest = Gauge(
            "ingest_queue_oldest_age_seconds",
            "How long the oldest queued task has waited (0 when none)",
            registry=r,
        )
        self.worker_slots = Gauge(
            "ingest_worker_slots_in_use", "Tasks this process's workers are running", registry=r
        )

    def _add_analytics(self, r: CollectorRegistry) -> None:
        """The answer cache and the engine's queries."""
        self.cache = Counter(
            "analytics_cache_requests",
            "Dashboard and analytics answers, by whether the cache had them",
            ["result"],
            registry=r,
        )
        # bound once: a cached dashboard answer takes ~2 ms, every label lookup counts
        self.cache_results = {True: self.cache.labels("hit"), False: self.cache.labels("miss")}
        self.queries = Histogram(
            "analytics_query_duration_seconds",
            "Engine queries (cache misses), by engine and GraphQL field",
            ["engine", "field"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def _add_druid(self, r: CollectorRegistry) -> None:
        self.druid = Histogram(
            "druid_request_duration_seconds",
            "Calls to Druid, by operation",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.druid_failures = Counter(
            "druid_request_failures",
            "Calls to Druid that failed (unreachable or refused), by operation",
            ["operation"],
            registry=r,
        )

    def observe_request(
        self, method: str, route: str, status: int, seconds: float, operation: str | None = None
    ) -> None:
        """`operation`: one of the app's GraphQL operations (routes.known_operation), counted
        on its own too."""
        self.http.labels(method if method in METHODS else "OTHER", route, str(status)).observe(
            seconds
        )
        if operation is not None:
            self.graphql.labels(operation).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def routes(self) -> dict[str, dict[str, Any]]:
        """Per "METHOD route", and per "POST /graphql Operation" for the app's GraphQL
        operations: requests, 5xx answers (routes only: a GraphQL error is a 200) and latency
        percentiles in ms, estimated from the histogram's buckets as Prometheus'
        histogram_quantile does."""
        found: dict[str, dict[str, Any]] = {}
        for family in self.http.collect():
            for sample in family.samples:
                labels = sample.labels
                name = f"{labels['http_request_method']} {labels['http_route']}"
                failed = labels["http_response_status_code"].startswith("5")
                _add_sample(found.setdefault(name, _empty()), sample, failed)
        for family in self.graphql.collect():
            for sample in family.samples:
                name = operation_route(sample.labels["operation"])
                _add_sample(found.setdefault(name, _empty()), sample, False)
        return {
            name: {
                "requests": route["requests"],
                "errors": route["errors"],
                "latency_ms": {
                    f"p{int(q * 100)}": _quantile_ms(q, sorted(route["buckets"].items()))
                    for q in (0.5, 0.95, 0.99)
                },
            }
            for name, route in sorted(found.items())
        }


def _empty() -> dict[str, Any]:
    return {"requests": 0, "errors": 0, "buckets": {}}


def _add_sample(route: dict[str, Any], sample: Sample, failed: bool) -> None:
    if sample.name.endswith("_count"):
        route["requests"] += int(sample.value)
        if failed:
            route["errors"] += int(sample.value)
    elif sample.name.endswith("_bucket"):
        bound = float(sample.labels["le"])
        route["buckets"][bound] = route["buckets"].get(bound, 0.0) + sample.value


def _quantile_ms(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The q-quantile in ms from cumulative (upper bound, count) buckets; None without data."""
    ordered = list(buckets)
    total = ordered[-1][1] if ordered else 0.0
    if not total:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if math.isinf(upper):
                return round(lower * 1000, 3)  # past the last bound: its value is not known
            inside = count - below
            share = (rank - below) / inside if inside else 1.0
            return round((lower + (upper - lower) * share) * 1000, 3)
        lower, below = upper, count
    return round(lower * 1000, 3)

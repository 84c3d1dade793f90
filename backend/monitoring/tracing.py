"""OpenTelemetry traces, exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set and off
otherwise (the API's tracer is then a no-op: nothing is recorded, nothing is patched).

One trace per upload, across processes: the upload's HTTP request is traced by FastAPI itself
(its native OpenTelemetry support); the task keeps that trace's context (`carrier`, stored on the
task when it is accepted) and the worker that runs it continues the trace (`continued`), so the
trace shows the request, each run of the task with its validation, Parquet write and storage
calls (botocore), and the Druid submission and polls (httpx). Database statements are spans too
(SQLAlchemy).

Only HTTP requests and task runs start traces (`RequestsAndTasks`): the worker's queue polls,
heartbeats and the scrapes' database reads are not traced on their own."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, Span, SpanKind, StatusCode, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.status import Status
from opentelemetry.util.types import Attributes
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.redaction import redact

log = logging.getLogger(__name__)

TRACER = trace.get_tracer("backend")  # a proxy: records only once a provider is configured
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
# Scraped every few seconds: a trace each would drown the uploads.
UNTRACED_PATHS = frozenset({"/metrics", "/healthz", "/readyz", "/api/health"})
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
_STREAM = re.compile(r"/api/ingest/tasks/[^/]+/events")  # server-sent events
# The task keeps the trace's context only: a caller's baggage is not stored nor sent on.
_CONTEXT = TraceContextTextMapPropagator()

_configured: list[str] = []  # the process's role, once configured


def configure(settings: Settings, role: str) -> bool:
    """Traces for this process (`role`: api or worker) to OTEL_EXPORTER_OTLP_ENDPOINT (an
    OTLP/HTTP base URL; /v1/traces is added). Nothing when it is unset or OTEL_SDK_DISABLED is
    true. Once per process; True when on."""
    if _configured:
        return True
    endpoint, service = settings.otel_exporter_otlp_endpoint, settings.otel_service_name
    if not endpoint or settings.otel_sdk_disabled:
        return False
    if not _URL.fullmatch(endpoint) or settings.otel_exporter_otlp_protocol != "http/protobuf":
        log.warning(
            "traces are off: they are sent over OTLP/HTTP (OTEL_EXPORTER_OTLP_PROTOCOL="
            "http/protobuf, usually port 4318) to an http:// or https:// URL; got protocol %r",
            settings.otel_exporter_otlp_protocol,
        )
        return False
    # Imported here: a process without an endpoint loads no exporter and patches no library.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased

    resource = Resource.create(
        {
            "service.name": f"{service}-{role}",
            "service.namespace": service,
            "service.instance.id": f"{os.uname().nodename}:{os.getpid()}",
        }
    )
    provider = TracerProvider(resource=resource, sampler=ParentBased(root=RequestsAndTasks()))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(Scrubbed(exporter)))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    BotocoreInstrumentor().instrument()  # type: ignore[no-untyped-call]
    _configured.append(role)
    log.info("traces exported over OTLP/HTTP (%s)", role)
    return True


def enabled() -> bool:
    return bool(_configured)


def instrument_database(engines: Sequence[AsyncEngine]) -> None:
    """Database statements as spans (once per process, for the engines it serves with)."""
    if not enabled():
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    instrumentor = SQLAlchemyInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        # Its declared range (sqlalchemy < 2.1) lags the release: the engine events it listens
        # to are unchanged in 2.1 (tests/monitoring/test_tracing.py sees the statements' spans).
        instrumentor.instrument(
            engines=[e.sync_engine for e in dict.fromkeys(engines)], skip_dep_check=True
        )


def untraced(scope: Mapping[str, Any]) -> bool:
    """FastAPI's filter: health checks and scrapes start no trace, nor do live streams (a
    websocket's subscriptions, server-sent events), which poll for as long as a page is open."""
    path = str(scope.get("path", ""))
    return (
        scope.get("type") == "websocket" or path in UNTRACED_PATHS or bool(_STREAM.fullmatch(path))
    )


def carrier() -> dict[str, str] | None:
    """The current trace's context as W3C headers (traceparent, tracestate), to store on a task;
    None when nothing is recorded."""
    if not trace.get_current_span().get_span_context().trace_flags.sampled:
        return None
    headers: dict[str, str] = {}
    _CONTEXT.inject(headers)
    return headers or None


def trace_id(stored: Mapping[str, Any] | None) -> str | None:
    """The trace id (32 hex digits) of a stored context, None when the task was not traced."""
    parent = (stored or {}).get("traceparent")
    match = _TRACEPARENT.fullmatch(parent) if isinstance(parent, str) else None
    return match.group(1) if match else None


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


@contextmanager
def continued(stored: Mapping[str, Any] | None, name: str, **attributes: Any) -> Iterator[Span]:
    """A span continuing the trace whose context was stored (a new trace when none was). Its
    status is the caller's to set (`failed`): a run that stops because its task was cancelled
    did not fail."""
    parent = _CONTEXT.extract(dict(stored or {})) if stored else otel_context.Context()
    with TRACER.start_as_current_span(
        name,
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


class Stop(Exception):
    """Work stopped without failing (its task was cancelled or taken over): a span it ends is
    not an error."""


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A child span of the current one (a no-op when traces are off). An exception ends it in
    error with the exception's type only: its message may hold a file's values or a path, and
    the log line of the same trace says it (redacted)."""
    with TRACER.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except Exception as exc:
            if not isinstance(exc, Stop):
                current.set_attribute("error.type", type(exc).__name__)
                current.set_status(StatusCode.ERROR, type(exc).__name__)
            raise


def failed(code: str) -> None:
    """The current span ended in a failure a user is told about (`code`: the task's error code)."""
    current = trace.get_current_span()
    current.set_attribute("error.type", code)
    current.set_status(StatusCode.ERROR, code)


class Scrubbed(SpanExporter):
    """What leaves the process: no signed URL's signature (httpx records the URLs it fetches), no
    file path of an SQLite database (SQLAlchemy names spans after the database), only its file
    name, and of an exception (the instrumentations record them) its type, not its message or
    traceback, which may hold a file's values, a path or a database's detail."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([scrub(s) for s in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


_DATABASE_NAMES = ("db.name", "db.namespace")  # older and stable semantic conventions
_DATABASE_SYSTEMS = ("db.system", "db.system.name")
_EXCEPTION_KEPT = ("exception.type", "exception.escaped")


def scrub(span: ReadableSpan) -> ReadableSpan:
    attributes = dict(span.attributes or {})
    sqlite = any(attributes.get(key) == "sqlite" for key in _DATABASE_SYSTEMS)
    paths = [
        path
        for key in _DATABASE_NAMES
        if sqlite and isinstance(path := attributes.get(key), str) and "/" in path
    ]

    def clean(text: str) -> str:
        for path in paths:
            text = text.replace(path, path.rsplit("/", 1)[-1])
        return redact(text)

    cleaned = {k: clean(v) if isinstance(v, str) else v for k, v in attributes.items()}
    name = clean(span.name)
    events = [
        Event(
            e.name,
            {k: v for k, v in (e.attributes or {}).items() if k in _EXCEPTION_KEPT},
            e.timestamp,
        )
        if e.name == "exception"
        else e
        for e in span.events
    ]
    status = span.status
    if status.description:  # an exception's "Type: message"
        status = Status(status.status_code, status.description.split(":", 1)[0])
    if (name, cleaned, events, status) == (span.name, attributes, list(span.events), span.status):
        return span
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=cleaned,
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RequestsAndTasks(Sampler):
    """Root sampler: a trace starts at an HTTP request (a SERVER span) or a task run (CONSUMER);
    a database statement or outgoing call with no parent (a queue poll, a heartbeat) is dropped."""

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        keep = kind in (SpanKind.SERVER, SpanKind.CONSUMER)
        return SamplingResult(
            Decision.RECORD_AND_SAMPLE if keep else Decision.DROP, attributes if keep else None
        )

    def get_description(self) -> str:
        return "RequestsAndTasks"

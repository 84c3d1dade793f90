"""GraphQL types of the performance figures, built from the dicts backend.status.performance
and backend.monitoring.application return (the REST answers keep those dicts as they are).

A figure that cannot be measured is null, beside the reason the dict gives for it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry

from backend.schema.scalars import Long
from backend.tasks.models import TaskStatus


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _long(value: Any) -> Long | None:
    return None if value is None else Long(int(value))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(value: Any) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(str(value))


@strawberry.type(description="Response times of the last checks of a backing system")
class ResponseTimes:
    min_ms: float
    avg_ms: float
    max_ms: float
    checks: int


@strawberry.type(description="Connections to a database server (PostgreSQL's pg_stat_activity)")
class ConnectionCounts:
    total: int
    active: int
    max: int


@strawberry.type(description="A Druid service, from sys.servers")
class DruidService:
    type: str
    server: str
    tier: str | None
    used_bytes: Long | None
    max_bytes: Long | None


@strawberry.type(description="A Druid datasource: its used segments and how much is loaded")
class DruidDatasourceLoad:
    name: str
    segments: int | None
    size_bytes: Long | None
    load_percent: float | None


@strawberry.type(description="A backing system: the metadata database, object storage or Druid")
class BackingSystem:
    id: str
    type: str
    status: str = strawberry.field(description="up, down or not_configured")
    reason: str | None = strawberry.field(description="why it is down or not configured")
    description: str | None
    version: str | None
    uptime_seconds: float | None
    uptime_reason: str | None
    size_bytes: Long | None
    size_reason: str | None
    objects: int | None = strawberry.field(description="stored objects (object storage)")
    connections: ConnectionCounts | None
    connections_reason: str | None
    response_times: ResponseTimes | None
    services: list[DruidService] | None
    datasources: list[DruidDatasourceLoad] | None
    datasources_reason: str | None


def _response_times(found: dict[str, Any] | None) -> ResponseTimes | None:
    if found is None:
        return None
    return ResponseTimes(
        min_ms=float(found["min_ms"]),
        avg_ms=float(found["avg_ms"]),
        max_ms=float(found["max_ms"]),
        checks=int(found["checks"]),
    )


def _connections(found: dict[str, Any] | None) -> ConnectionCounts | None:
    if found is None:
        return None
    return ConnectionCounts(
        total=int(found["total"]), active=int(found["active"]), max=int(found["max"])
    )


def _druid_service(found: dict[str, Any]) -> DruidService:
    return DruidService(
        type=str(found["type"]),
        server=str(found["server"]),
        tier=_str(found.get("tier")),
        used_bytes=_long(found.get("used_bytes")),
        max_bytes=_long(found.get("max_bytes")),
    )


def _druid_datasource(found: dict[str, Any]) -> DruidDatasourceLoad:
    return DruidDatasourceLoad(
        name=str(found["name"]),
        segments=_int(found.get("segments")),
        size_bytes=_long(found.get("size_bytes")),
        load_percent=_float(found.get("load_percent")),
    )


def backing_system(found: dict[str, Any]) -> BackingSystem:
    services = found.get("services")
    datasources = found.get("datasources")
    return BackingSystem(
        id=str(found["id"]),
        type=str(found["type"]),
        status=str(found["status"]),
        reason=_str(found.get("reason")),
        description=_str(found.get("description")),
        version=_str(found.get("version")),
        uptime_seconds=_float(found.get("uptime_seconds")),
        uptime_reason=_str(found.get("uptime_reason")),
        size_bytes=_long(found.get("size_bytes")),
        size_reason=_str(found.get("size_reason")),
        objects=_int(found.get("objects")),
        connections=_connections(found.get("connections")),
        connections_reason=_str(found.get("connections_reason")),
        response_times=_response_times(found.get("response_times")),
        services=None if services is None else [_druid_service(s) for s in services],
        datasources=None if datasources is None else [_druid_datasource(d) for d in datasources],
        datasources_reason=_str(found.get("datasources_reason")),
    )


@strawberry.type(description="A statement running in the metadata database (pg_stat_activity)")
class DatabaseQuery:
    pid: int
    user: str | None
    database: str | None
    state: str | None
    duration_seconds: float | None
    wait_event: str | None
    query: str


@strawberry.type(description="A running Druid ingestion task")
class DruidTask:
    task_id: str | None
    type: str | None
    datasource: str | None
    state: str | None
    duration_seconds: float | None
    location: str | None


ActiveQuery = Annotated[DatabaseQuery | DruidTask, strawberry.union("ActiveQuery")]


@strawberry.type(description="What a data source is running now, or why that cannot be seen")
class ActiveQueries:
    available: bool
    reason: str | None
    queries: list[ActiveQuery]


def _active_query(found: dict[str, Any]) -> DatabaseQuery | DruidTask:
    if "task_id" in found:
        return DruidTask(
            task_id=_str(found.get("task_id")),
            type=_str(found.get("type")),
            datasource=_str(found.get("datasource")),
            state=_str(found.get("state")),
            duration_seconds=_float(found.get("duration_seconds")),
            location=_str(found.get("location")),
        )
    return DatabaseQuery(
        pid=int(found["pid"]),
        user=_str(found.get("user")),
        database=_str(found.get("database")),
        state=_str(found.get("state")),
        duration_seconds=_float(found.get("duration_seconds")),
        wait_event=_str(found.get("wait_event")),
        query=str(found["query"]),
    )


def active_queries(found: dict[str, Any]) -> ActiveQueries:
    return ActiveQueries(
        available=bool(found["available"]),
        reason=_str(found.get("reason")),
        queries=[_active_query(q) for q in found["queries"]],
    )


@strawberry.type(description="A statement from pg_stat_statements, slowest mean first")
class SlowQuery:
    query: str
    calls: Long
    mean_ms: float
    total_ms: float
    rows: Long
    recommendations: list[str]


@strawberry.type(description="The slowest statements of a data source, or why they cannot be seen")
class SlowQueries:
    available: bool
    reason: str | None
    queries: list[SlowQuery]


def slow_queries(found: dict[str, Any]) -> SlowQueries:
    return SlowQueries(
        available=bool(found["available"]),
        reason=_str(found.get("reason")),
        queries=[
            SlowQuery(
                query=str(q["query"]),
                calls=Long(int(q["calls"])),
                mean_ms=float(q["mean_ms"]),
                total_ms=float(q["total_ms"]),
                rows=Long(int(q["rows"])),
                recommendations=[str(r) for r in q["recommendations"]],
            )
            for q in found["queries"]
        ],
    )


@strawberry.type(description="How many of a datasource's tasks are in a status")
class StatusCount:
    status: TaskStatus
    count: int


@strawberry.type(
    description="Seconds a task worked in a stage, over all its runs, without waits for a retry "
    "(null: not reached, or running)"
)
class StageDuration:
    stage: str
    seconds: float | None


@strawberry.type(description="One ingestion run of a datasource")
class PipelineRun:
    task_id: str
    status: TaskStatus
    filename: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    duration_seconds: float | None = strawberry.field(
        description="Seconds of work from the upload to the end, without the time spent "
        "waiting for a retry (null: not finished)"
    )
    waited_seconds: float = strawberry.field(
        description="Seconds spent waiting for a retry: failed or cancelled until retried, "
        "back in the queue after a setback, waiting for Druid to come back"
    )
    stages: list[StageDuration]
    rows_read: Long | None
    rows_valid: Long | None
    rows_rejected: Long | None


@strawberry.type(description="A datasource's ingestion history")
class Pipeline:
    datasource: str
    runs: int
    by_status: list[StatusCount]
    success_rate: float | None = strawberry.field(description="of finished runs; null: none")
    rows_loaded: Long
    rows_rejected: Long
    last_run: dt.datetime | None
    recent: list[PipelineRun] = strawberry.field(description="the last 20 runs, newest first")


def _pipeline_run(found: dict[str, Any]) -> PipelineRun:
    return PipelineRun(
        task_id=str(found["task_id"]),
        status=TaskStatus(found["status"]),
        filename=str(found["filename"]),
        created_at=dt.datetime.fromisoformat(str(found["created_at"])),
        finished_at=_time(found.get("finished_at")),
        duration_seconds=_float(found.get("duration_seconds")),
        waited_seconds=float(found.get("waited_seconds") or 0.0),
        stages=[
            StageDuration(stage=str(stage), seconds=_float(seconds))
            for stage, seconds in found["stages_seconds"].items()
        ],
        rows_read=_long(found.get("rows_read")),
        rows_valid=_long(found.get("rows_valid")),
        rows_rejected=_long(found.get("rows_rejected")),
    )


def pipeline(found: dict[str, Any]) -> Pipeline:
    return Pipeline(
        datasource=str(found["datasource"]),
        runs=int(found["runs"]),
        by_status=[
            StatusCount(status=TaskStatus(s), count=int(n)) for s, n in found["by_status"].items()
        ],
        success_rate=_float(found.get("success_rate")),
        rows_loaded=Long(int(found["rows_loaded"])),
        rows_rejected=Long(int(found["rows_rejected"])),
        last_run=_time(found.get("last_run")),
        recent=[_pipeline_run(r) for r in found["recent"]],
    )


@strawberry.type(description="Latency percentiles in ms (null: no request measured)")
class LatencyPercentiles:
    p50: float | None
    p95: float | None
    p99: float | None


@strawberry.type(description="Requests to one route template of this process")
class RouteStats:
    route: str = strawberry.field(
        description='"METHOD /route/template", or "POST /graphql Operation" for one of the '
        "app's GraphQL operations (also counted in POST /graphql)"
    )
    label: str = strawberry.field(
        description='What it is, as a person knows it ("Upload a file", "Dashboard: key '
        'figures"); the route itself when it has no name'
    )
    requests: int
    errors: int = strawberry.field(description="5xx answers")
    latency_ms: LatencyPercentiles


@strawberry.type(description="CPU and memory of this process")
class ProcessUsage:
    pid: int
    cpu_seconds: float | None
    cpu_user_seconds: float
    cpu_system_seconds: float
    rss_bytes: Long | None
    rss_reason: str | None
    peak_rss_bytes: Long
    open_fds: int | None
    threads: int


@strawberry.type(description="A recent log record of this process")
class LogRecord:
    at: dt.datetime
    level: str
    logger: str
    message: str


@strawberry.type(description="This process: uptime, requests, routes, CPU, memory, recent logs")
class ApplicationSummary:
    started_at: dt.datetime
    uptime_seconds: float
    requests: int
    errors: int
    routes: list[RouteStats]
    process: ProcessUsage
    recent_logs: list[LogRecord]


def _route(name: str, found: dict[str, Any]) -> RouteStats:
    latency = found["latency_ms"]
    return RouteStats(
        route=name,
        label=str(found.get("label") or name),
        requests=int(found["requests"]),
        errors=int(found["errors"]),
        latency_ms=LatencyPercentiles(
            p50=_float(latency.get("p50")),
            p95=_float(latency.get("p95")),
            p99=_float(latency.get("p99")),
        ),
    )


def _process(found: dict[str, Any]) -> ProcessUsage:
    return ProcessUsage(
        pid=int(found["pid"]),
        cpu_seconds=_float(found.get("cpu_seconds")),
        cpu_user_seconds=float(found["cpu_user_seconds"]),
        cpu_system_seconds=float(found["cpu_system_seconds"]),
        rss_bytes=_long(found.get("rss_bytes")),
        rss_reason=_str(found.get("rss_reason")),
        peak_rss_bytes=Long(int(found["peak_rss_bytes"])),
        open_fds=_int(found.get("open_fds")),
        threads=int(found["threads"]),
    )


def application_summary(found: dict[str, Any]) -> ApplicationSummary:
    return ApplicationSummary(
        started_at=dt.datetime.fromisoformat(str(found["started_at"])),
        uptime_seconds=float(found["uptime_seconds"]),
        requests=int(found["requests"]),
        errors=int(found["errors"]),
        routes=[_route(name, route) for name, route in found["routes"].items()],
        process=_process(found["process"]),
        recent_logs=[
            LogRecord(
                at=dt.datetime.fromisoformat(str(r["at"])),
                level=str(r["level"]),
                logger=str(r["logger"]),
                message=str(r["message"]),
            )
            for r in found["recent_logs"]
        ],
    )

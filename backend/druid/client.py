"""HTTP client for Apache Druid through its router: Overlord tasks, Coordinator load status, and
queries (Druid SQL with typed parameters, native JSON queries), sent to a broker when one is
given.

One `httpx.AsyncClient` with explicit timeouts. Transient failures (connection refused or reset,
timeouts, 429, 502-504) are retried briefly with backoff and then raised as `DruidUnavailable`;
Druid refusing a request is `DruidRequestError` with Druid's own message. Every message passes
through `redact`, so a signed URL quoted back by Druid never reaches a user or a log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from backend.monitoring.metrics import Registry
from backend.redaction import redact

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
ALL_TIME = "1000-01-01/3000-01-01"


class DruidError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(redact(message))
        self.message = redact(message)


class DruidUnavailable(DruidError):
    """Druid cannot be reached or is overloaded now; trying later may work."""


class DruidRequestError(DruidError):
    """Druid understood the request and refused it; sending it again will not help."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class TaskState:
    task_id: str
    status: str  # RUNNING, PENDING, WAITING, SUCCESS, FAILED
    error: str | None
    duration_ms: int | None

    @property
    def finished(self) -> bool:
        return self.status in ("SUCCESS", "FAILED")


@dataclass(frozen=True)
class SqlResult:
    columns: list[str]
    sql_types: list[str]
    rows: list[list[Any]]


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:2000] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("errorMessage", "error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value and value != "druidException":
                return value[:2000]
    return str(body)[:2000]


class DruidClient:
    def __init__(
        self,
        base_url: str,
        *,
        query_url: str | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        metrics: Registry | None = None,
    ) -> None:
        """`base_url`: the router (tasks, segments, and queries unless `query_url`, a broker,
        takes them one proxy hop shorter)."""
        self.base_url = base_url.rstrip("/")
        self.metrics = metrics
        self.attempts = attempts
        self._http = _http_client(self.base_url, timeout, transport)
        self._queries = (
            _http_client(query_url.rstrip("/"), timeout, transport) if query_url else self._http
        )

    async def close(self) -> None:
        await self._http.aclose()
        if self._queries is not self._http:
            await self._queries.aclose()

    async def _request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        query: bool = False,
    ) -> httpx.Response:
        """One call, retried on transient failures; timed as `operation` (a method's name, never
        the path: paths hold task ids and datasource names). `query`: a query, sent to the
        broker when one is configured."""
        started = time.perf_counter()
        http = self._queries if query else self._http
        try:
            return await self._attempts(http, method, path, json=json, params=params, expect=expect)
        except DruidError:
            if self.metrics is not None:
                self.metrics.druid_failures.labels(operation).inc()
            raise
        finally:
            if self.metrics is not None:
                self.metrics.druid.labels(operation).observe(time.perf_counter() - started)

    async def _attempts(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        json: Any,
        params: dict[str, str] | None,
        expect: tuple[int, ...],
    ) -> httpx.Response:
        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            try:
                response = await http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                where = _display(str(http.base_url))
                failure: str = f"Druid at {where} is unreachable: {type(exc).__name__}"
                if str(exc):
                    failure += f": {exc}"
            else:
                if response.status_code in expect:
                    return response
                if response.status_code not in TRANSIENT_STATUS:
                    raise DruidRequestError(
                        f"Druid refused {method} {path} ({response.status_code}): "
                        f"{_error_text(response)}",
                        response.status_code,
                    )
                failure = f"Druid answered {response.status_code} to {method} {path}: " + (
                    _error_text(response)
                )
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        raise DruidUnavailable(failure)

    async def healthy(self) -> bool:
        response = await self._request("healthy", "GET", "/status/health")
        return response.json() is True

    async def submit(self, spec: dict[str, Any]) -> str:
        """Submit a task; a spec whose `id` Druid already has counts as submitted (idempotent)."""
        try:
            response = await self._request("submit", "POST", "/druid/indexer/v1/task", json=spec)
        except DruidRequestError as exc:
            task_id = spec.get("id")
            if task_id and exc.status_code == 400 and "already exists" in exc.message:
                return str(task_id)
            raise
        return str(response.json()["task"])

    async def task_state(self, task_id: str) -> TaskState | None:
        """The task's state, or None when Druid has never heard of it."""
        path = f"/druid/indexer/v1/task/{urllib.parse.quote(task_id, safe='')}/status"
        try:
            response = await self._request("task_state", "GET", path)
        except DruidRequestError as exc:
            if exc.status_code == 404:
                return None
            raise
        status = response.json().get("status") or {}
        state = status.get("status") or status.get("statusCode") or "UNKNOWN"
        return TaskState(
            task_id=task_id,
            status=str(state),
            error=status.get("errorMsg"),
            duration_ms=status.get("duration") if isinstance(status.get("duration"), int) else None,
        )

    async def task_reports(self, task_id: str) -> dict[str, Any] | None:
        path = f"/druid/indexer/v1/task/{urllib.parse.quote(task_id, safe='')}/reports"
        try:
            response = await self._request("task_reports", "GET", path)
        except DruidRequestError as exc:
            if exc.status_code == 404:
                return None
            raise
        body = response.json()
        return body if isinstance(body, dict) else None

    async def shutdown_task(self, task_id: str) -> None:
        path = f"/druid/indexer/v1/task/{urllib.parse.quote(task_id, safe='')}/shutdown"
        try:
            await self._request("shutdown_task", "POST", path)
        except DruidRequestError as exc:
            if exc.status_code != 404:
                raise

    async def drop_datasource(self, datasource: str) -> int:
        """Marks every segment of `datasource` unused (queries stop seeing it; Druid's kill
        tasks may then delete them); the number marked, 0 when Druid has none."""
        path = f"/druid/coordinator/v1/datasources/{urllib.parse.quote(datasource, safe='')}"
        try:
            response = await self._request("drop_datasource", "DELETE", path)
        except DruidRequestError as exc:
            if exc.status_code == 404:
                return 0
            raise
        body = response.json() if response.content else {}
        return int(body.get("numChangedSegments", 0)) if isinstance(body, dict) else 0

    async def load_percent(self, datasource: str, interval: str = ALL_TIME) -> float | None:
        """Percent of the datasource's used segments in `interval` that historicals serve;
        None when Druid has no used segment there (yet)."""
        path = f"/druid/coordinator/v1/datasources/{urllib.parse.quote(datasource)}/loadstatus"
        response = await self._request(
            "load_percent",
            "GET",
            path,
            params={"forceMetadataRefresh": "true", "interval": interval},
            expect=(200, 204),
        )
        if response.status_code == 204 or not response.content:
            return None
        try:
            body = response.json()
        except ValueError:
            return None  # "No used segment found for the given datasource and interval"
        value = body.get(datasource) if isinstance(body, dict) else None
        return float(value) if isinstance(value, int | float) else None

    async def sql(
        self,
        query: str,
        parameters: list[dict[str, Any]] | None = None,
        context: dict[str, Any] | None = None,
    ) -> SqlResult:
        """Druid SQL with typed parameters; returns column names, SQL types and rows."""
        body = {
            "query": query,
            "parameters": parameters or [],
            "resultFormat": "array",
            "header": True,
            "sqlTypesHeader": True,
            "context": {"sqlTimeZone": "Etc/UTC", **(context or {})},
        }
        response = await self._request("sql", "POST", "/druid/v2/sql", json=body, query=True)
        rows = response.json()
        if not isinstance(rows, list) or len(rows) < 2:
            raise DruidRequestError(f"unexpected Druid SQL answer: {str(rows)[:200]}", 502)
        return SqlResult(columns=list(rows[0]), sql_types=list(rows[1]), rows=rows[2:])

    async def native(self, query: dict[str, Any]) -> list[Any]:
        """A native Druid query (JSON): its result rows. No SQL planning on the broker, which
        costs more than the query itself on a small rollup (bench/RESULTS.md, issue 28)."""
        response = await self._request("native", "POST", "/druid/v2", json=query, query=True)
        rows = response.json()
        if not isinstance(rows, list):
            raise DruidRequestError(f"unexpected Druid answer: {str(rows)[:200]}", 502)
        return rows

    async def running_tasks(self) -> list[dict[str, Any]]:
        response = await self._request(
            "running_tasks", "GET", "/druid/indexer/v1/tasks", params={"state": "running"}
        )
        found = response.json()
        return found if isinstance(found, list) else []

    async def datasource_segments(self) -> dict[str, dict[str, Any]]:
        """Per datasource: segment count and size (from the Coordinator's used segments)."""
        response = await self._request(
            "datasource_segments", "GET", "/druid/coordinator/v1/datasources", params={"simple": ""}
        )
        found: dict[str, dict[str, Any]] = {}
        for item in response.json():
            properties = item.get("properties", {}).get("segments", {})
            found[str(item.get("name"))] = {
                "segments": properties.get("count"),
                "size_bytes": properties.get("size"),
            }
        return found

    async def load_status_all(self) -> dict[str, float]:
        response = await self._request("load_status_all", "GET", "/druid/coordinator/v1/loadstatus")
        body = response.json()
        return {str(k): float(v) for k, v in body.items()} if isinstance(body, dict) else {}


def _http_client(
    base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        # Connections kept between a user's clicks (httpx's default lets them go after 5 s;
        # Druid's Jetty keeps them 5 min): no new TCP (or TLS) handshake per dashboard.
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16, keepalive_expiry=60),
        transport=transport,
    )


def _display(url: str) -> str:
    """What messages show: the URL without credentials (basic auth in DRUID_URL is sent, never
    shown)."""
    return str(httpx.URL(url).copy_with(username=None, password=None)).rstrip("/")


def parse_timestamp(value: str) -> dt.datetime:
    """A Druid SQL TIMESTAMP value (ISO-8601, UTC) as an aware datetime."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)

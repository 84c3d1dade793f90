"""One Settings object for the whole service, read from the environment (and an optional .env)."""

from __future__ import annotations

import ipaddress
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from backend.auth.oidc import OidcConfig
from backend.auth.roles import Role
from backend.config_actions import ActionSettings
from backend.config_uploads import UploadSettings

DEFAULT_VAR_DIR = Path("var")


class Settings(ActionSettings, UploadSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR}/metadata.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    database_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long a request waits for a database connection (and SQLite's write "
        "lock) before it is answered 503 with Retry-After",
    )
    storage_url: str = Field(
        default=str(DEFAULT_VAR_DIR / "storage"),
        description="A local folder, or s3://bucket/prefix",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, moto); unset for AWS"
    )
    # Read from AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY like any AWS tool; unset
    # credentials fall back to boto3's usual chain (profile, instance role).
    aws_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    max_upload_mb: Annotated[int, Field(gt=0)] = 500
    min_free_disk_mb: Annotated[int, Field(ge=0)] = Field(
        default=1024,
        description="Uploads are refused (507) when they would leave less free disk than this "
        "where objects or temporary files are written",
    )
    janitor_interval_seconds: Annotated[float, Field(gt=0)] = 3600.0
    staged_upload_max_age_seconds: Annotated[float, Field(gt=0)] = 6 * 3600.0
    notifications_keep_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=30, description="Notifications older than this are deleted by the janitor"
    )
    worker_concurrency: Annotated[int, Field(ge=0)] = 2
    # `python -m backend worker` serves its own Prometheus metrics here (0: not at all).
    worker_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    worker_metrics_host: str = "127.0.0.1"
    # OpenTelemetry's own variables, often set for a whole cluster: a value this service cannot
    # use turns its traces off with a warning (backend.monitoring.tracing) rather than stopping it.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        max_length=2048,
        description="OpenTelemetry collector's OTLP/HTTP base URL (traces go to …/v1/traces); "
        "unset: no traces",
    )
    otel_exporter_otlp_protocol: str = Field(
        default="http/protobuf", max_length=32, description="only http/protobuf is supported"
    )
    otel_service_name: str = Field(
        default="sales-ingest",
        max_length=128,
        description="service.name of the traces, with -api or -worker added",
    )
    otel_sdk_disabled: bool = Field(
        default=False, description="OpenTelemetry's switch: true turns traces off whatever is set"
    )
    worker_lease_seconds: Annotated[float, Field(gt=0)] = 30.0
    worker_poll_seconds: Annotated[float, Field(gt=0)] = 1.0
    worker_max_attempts: Annotated[int, Field(ge=1)] = 3
    # Fault injection for the crash-recovery tests: the worker sleeps this long after writing the
    # dataset and before recording success. Keep 0 in real deployments.
    worker_debug_pause_seconds: Annotated[float, Field(ge=0)] = 0.0
    cache_dir: str = Field(
        default=str(DEFAULT_VAR_DIR / "cache"),
        description="Local copies of datasets (when storage is S3) for the embedded engine",
    )
    analytics_cache_entries: Annotated[int, Field(ge=0)] = 2048
    analytics_cache_ttl_seconds: Annotated[float, Field(ge=0)] = 300.0
    analytics_threads: Annotated[int, Field(ge=1, le=64)] = 4
    query_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    query_max_cells: Annotated[int, Field(ge=1000)] = 250_000
    rows_csv_max_rows: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=100_000,
        description="The most rows a rows CSV download holds: more matching rows are refused "
        "with the advice to narrow the selection",
    )
    rows_csv_max_cells: Annotated[int, Field(ge=1000, le=50_000_000)] = Field(
        default=2_000_000,
        description="The most values (rows x columns) a rows CSV download holds, whatever its "
        "rows: the rows are held in memory while they are written, and a wide datasource's "
        "100,000 rows could be millions of values",
    )
    query_parallel: Annotated[int, Field(ge=1, le=16)] = 2
    # Twice the cores: a GraphQL request is CPU work on the event loop and the engine's threads,
    # so more at once only lengthens every loop turn (measured in tests/e2e/test_load.py on 2
    # cores: 16 at once gave /healthz a p99 of 250 ms and fewer reads per second than 4, 70 ms).
    graphql_max_concurrent: Annotated[int, Field(ge=1, le=1024)] = Field(
        default_factory=lambda: 2 * (os.cpu_count() or 1)
    )
    druid_max_concurrent_subtasks: Annotated[int, Field(ge=1)] = 1
    druid_url: str | None = Field(default=None, description="Druid router URL; unset: embedded")
    druid_broker_url: str | None = Field(
        default=None,
        description="Druid broker URL for dashboard queries (one proxy hop fewer than the "
        "router: 2-10 ms a query measured here); unset: queries go through DRUID_URL",
    )
    druid_input_source: Literal["http", "s3"] = Field(
        default="http",
        description="http: Druid reads short-lived signed URLs (no S3 credentials in Druid); "
        "s3: the S3 extension reads the bucket with Druid's own credentials",
    )
    druid_input_format: Literal["json", "csv", "parquet"] = Field(
        default="json",
        description="The copy Druid reads: json (JSON lines) or csv for a core Druid; parquet "
        "needs the Parquet extension",
    )
    druid_datasource_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{0,32}$")] = Field(
        default="", description="Prefixed to every Druid datasource name (shared clusters)"
    )
    druid_data_base_url: str | None = Field(
        default=None,
        description="Base URL at which Druid reaches this service's signed dataset URLs (local "
        "storage); default PUBLIC_URL, else http://127.0.0.1:8000",
    )
    druid_url_ttl_seconds: Annotated[int, Field(ge=30, le=7 * 24 * 3600)] = 1800
    druid_poll_seconds: Annotated[float, Field(gt=0)] = 1.0
    druid_retry_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    druid_load_timeout_seconds: Annotated[float, Field(gt=0)] = 900.0
    druid_request_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    signing_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for signed dataset URLs; unset: one is generated and kept in the "
        "metadata database, shared by every process",
    )
    # Access control (see README: tokens, roles and limits).
    auth_anonymous_role: Literal["none", "viewer", "uploader", "admin"] = Field(
        default="none",
        description="The role of callers without a token: none (every call needs a token), or "
        "viewer to open reads on a trusted network",
    )
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer (JWTs)")
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "role"
    # Sign-in for people (README: signing in): browser sessions and single sign-on.
    session_hours: Annotated[float, Field(gt=0, le=24 * 90)] = Field(
        default=12.0, description="How long a browser stays signed in"
    )
    sign_in_attempts_per_name: Annotated[int, Field(ge=1)] = Field(
        default=5,
        description="Failed password checks per minute for one name (a successful sign-in "
        "clears them), whatever RATE_LIMIT_PER_MINUTE says (past it 429), per process",
    )
    sign_in_attempts_per_address: Annotated[int, Field(ge=1)] = Field(
        default=20,
        description="Password sign-in attempts per minute from one client address (past it "
        "429), per process",
    )
    auth_max_body_kb: Annotated[int, Field(ge=1, le=1024)] = Field(
        default=8,
        description="Largest request body to /api/auth/* (anyone may call them): past it 413, "
        "before any of it is parsed",
    )
    session_cookie_secure: bool = Field(
        default=False,
        description="Mark the session cookie Secure even when requests arrive over http (behind "
        "a proxy that ends TLS); https requests always get it",
    )
    oidc_client_id: str | None = Field(
        default=None, description="Single sign-on: this service's client id at the provider"
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Single sign-on: the client secret (unset: a public client)"
    )
    oidc_authorize_url: str | None = Field(
        default=None, description="Single sign-on: unset, read from OIDC_ISSUER's discovery"
    )
    oidc_token_url: str | None = Field(
        default=None, description="Single sign-on: unset, read from OIDC_ISSUER's discovery"
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="Single sign-on: the callback URL the provider knows; default: "
        "/api/auth/oidc/callback on the request's own host",
    )
    oidc_provider_name: str = Field(
        default="single sign-on", max_length=64, description="Shown as 'Sign in with <name>'"
    )
    rate_limit_per_minute: Annotated[int, Field(ge=0)] = Field(
        default=1200, description="Requests per minute per principal (0: no limit), per process"
    )
    uploads_in_flight: Annotated[int, Field(ge=0)] = Field(
        default=4, description="Uploads one principal may stream at once (0: no limit)"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser, comma-separated",
    )
    # The HTTP edge (backend.api.edge, backend.api.limits): see README, Operating the service.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1", "api", "testserver"],
        description="Host names the service answers to, comma-separated (* for any); "
        "PUBLIC_URL's and DRUID_DATA_BASE_URL's hosts are added. Others get 400 (DNS rebinding)",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks of reverse proxies whose X-Forwarded-For is "
        "believed, comma-separated; empty: the connection's own address is the client's",
    )
    body_read_timeout_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=30.0,
        description="Seconds a request body may take to arrive, plus its size at "
        "BODY_MIN_KB_PER_S; a body that trickles slower is answered 408",
    )
    body_min_kb_per_s: Annotated[int, Field(ge=1)] = Field(
        default=64, description="The slowest upload rate (KiB/s) kept past BODY_READ_TIMEOUT_S"
    )
    graphql_introspection: bool = True
    graphql_max_depth: Annotated[int, Field(ge=2)] = 12
    graphql_max_aliases: Annotated[int, Field(ge=1)] = 30
    graphql_max_tokens: Annotated[int, Field(ge=100)] = 4000
    # Fields a document selects, each fragment counted every time it is spread: fragments that
    # spread the previous one twice select 2^n fields from a few hundred bytes.
    graphql_max_fields: Annotated[int, Field(ge=10)] = 500
    # Times one field (one response key) may be selected at one level: validation compares every
    # two copies, so 490 copies of one small field took 2 s of the event loop.
    graphql_max_repeats: Annotated[int, Field(ge=2, le=1000)] = 10
    # A GraphQL request's body, query string and websocket messages (multipart uploads: their
    # `operations` and `map` fields; their files have MAX_UPLOAD_MB), refused before parsing.
    graphql_max_body_kb: Annotated[int, Field(ge=1, le=1024 * 1024)] = 1024
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text for a terminal; json: one object per line with the request or task id",
    )
    auto_migrate: bool = Field(
        default=True, description="Run alembic migrations at start-up (API and worker)"
    )
    public_url: str | None = Field(
        default=None, description="Base URL used in links such as status_url; default: request URL"
    )
    # Dependencies that stall or fail (issue 22): bounded waits, separate thread pools, retries.
    # A stalled S3 holds a storage thread at most connect + read timeout per attempt.
    s3_connect_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=5.0, description="How long a connection to S3 may take before the call fails"
    )
    s3_read_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = Field(
        default=20.0, description="How long S3 may stay silent within one call before it fails"
    )
    s3_max_attempts: Annotated[int, Field(ge=1, le=10)] = Field(
        default=3, description="Attempts per S3 call (1: no retry) before it fails"
    )
    storage_threads: Annotated[int, Field(ge=1, le=256)] = Field(
        default=16,
        description="Threads for storage calls (boto3, the local store's files): a stalled store "
        "holds only these, never the threads other work needs",
    )
    storage_retry_max_seconds: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="A task whose storage is unreachable waits and retries, its wait doubling up "
        "to this",
    )
    liveness_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=2.0,
        description="/healthz answers 503 when the event loop lags, or a thread pool cannot run "
        "a call, for longer than this",
    )

    # Inputs that would cost many times their size (issue 22, item 9), checked on the file's bytes
    # before a reader takes it; past one, the task fails saying which line or column and the
    # limit. A column name is repeated in every answer listing columns (datasources, tasks).
    max_column_name_chars: Annotated[int, Field(ge=16, le=65536)] = 256
    # The CSV header line; a reader takes a header line whole.
    max_header_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    # Any CSV line: Polars holds several times a line's size while reading it.
    max_line_bytes: Annotated[int, Field(ge=64 * 1024, le=256 * 1024 * 1024)] = 4 * 1024 * 1024

    currency: str | None = Field(
        default=None,
        description="The currency of the data's money figures, as an ISO 4217 code (EUR, USD, "
        "MMK): the app shows it on them. Unset: plain numbers",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES holds {entry[:64]!r}, not an address or network "
                    "(10.0.0.5, 10.0.0.0/8)"
                ) from None
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        parts = (self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url)
        signs_in = self.oidc_client_id and self.oidc_issuer and not any(parts[1:])
        if any(parts) and not all(parts) and not signs_in:
            raise ValueError(
                "OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL go together: set all three or none "
                "(single sign-on alone needs OIDC_ISSUER and OIDC_CLIENT_ID)"
            )
        if self.oidc_client_id and not self.oidc_issuer:
            raise ValueError("OIDC_CLIENT_ID needs OIDC_ISSUER (the provider's issuer URL)")
        return self

    @field_validator("currency", mode="before")
    @classmethod
    def _currency_code(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        code = str(value).strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise ValueError(
                f"CURRENCY must be an ISO 4217 code of three letters, such as EUR or USD "
                f"(got {str(value)[:32]!r})"
            )
        return code

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(
                f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR (got {value!r})"
            )
        return level

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def graphql_max_body(self) -> int:
        return self.graphql_max_body_kb * 1024

    @property
    def anonymous_role(self) -> Role | None:
        return None if self.auth_anonymous_role == "none" else Role(self.auth_anonymous_role)

    @property
    def oidc(self) -> OidcConfig | None:
        if not (self.oidc_issuer and self.oidc_audience and self.oidc_jwks_url):
            return None
        return OidcConfig(
            self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url, self.oidc_role_claim
        )

    @property
    def min_free_disk_bytes(self) -> int:
        return self.min_free_disk_mb * 1024 * 1024

    @property
    def data_base_url(self) -> str:
        return (self.druid_data_base_url or self.public_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def host_names(self) -> list[str]:
        """ALLOWED_HOSTS and the hosts of the service's own configured URLs."""
        urls = (self.public_url, self.druid_data_base_url)
        return [*self.allowed_hosts, *(urlsplit(u).hostname or "" for u in urls if u)]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

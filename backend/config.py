"""One Settings object for the whole service, read from the environment (and an optional .env)."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from backend.auth.oidc import OidcConfig
from backend.auth.roles import Role

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
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
    query_parallel: Annotated[int, Field(ge=1, le=16)] = 2
    # Twice the cores: a GraphQL request is CPU work on the event loop and the engine's threads,
    # so more at once only lengthens every loop turn (measured in tests/e2e/test_load.py on 2
    # cores: 16 at once gave /healthz a p99 of 250 ms and fewer reads per second than 4, 70 ms).
    graphql_max_concurrent: Annotated[int, Field(ge=1, le=1024)] = Field(
        default_factory=lambda: 2 * (os.cpu_count() or 1)
    )
    druid_max_concurrent_subtasks: Annotated[int, Field(ge=1)] = 1
    druid_url: str | None = Field(default=None, description="Druid router URL; unset: embedded")
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
    graphql_introspection: bool = True
    graphql_max_depth: Annotated[int, Field(ge=2)] = 12
    graphql_max_aliases: Annotated[int, Field(ge=1)] = 30
    graphql_max_tokens: Annotated[int, Field(ge=100)] = 4000
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

    # Inputs that would cost many times their size (issue 22, item 9), checked on the file's bytes
    # before a reader takes it; past one, the task fails saying which line or column and the
    # limit. A column name is repeated in every answer listing columns (datasources, tasks).
    max_column_name_chars: Annotated[int, Field(ge=16, le=65536)] = 256
    # The CSV header line; a reader takes a header line whole.
    max_header_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    # Any CSV line: Polars holds several times a line's size while reading it.
    max_line_bytes: Annotated[int, Field(ge=64 * 1024, le=256 * 1024 * 1024)] = 4 * 1024 * 1024

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        parts = (self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url)
        if any(parts) and not all(parts):
            raise ValueError(
                "OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL go together: set all three or none"
            )
        return self

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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()

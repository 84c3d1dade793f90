"""Settings of actions (backend.actions: imports, webhooks, alerts and reports that run on their
own) and of the mail server reports go through; part of backend.config.Settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode


class ActionSettings(BaseSettings):
    actions_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts, addresses or networks that actions may call although they are "
        "private or loopback (127.0.0.1, 10.0.0.0/8, files.internal), comma-separated; others "
        "get only public addresses. An entry with a port (127.0.0.1:8080, files.internal:443, "
        "[::1]:9000) allows that port only; one without a port allows every port",
    )
    actions_s3_buckets: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Buckets imports may read with the service's S3 credentials, "
        "comma-separated (empty: no S3 imports); the service's own storage prefix never",
    )
    actions_secret_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys that encrypt actions' secrets, comma-separated (the first "
        "encrypts; the others still decrypt, for rotation). Unset: one is generated and kept in "
        "the database; production should set it outside the database",
    )
    actions_tick_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=5.0, description="How often workers look for due schedules and new events"
    )
    actions_http_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10.0, description="Seconds an outbound request may wait for each read or write"
    )
    actions_max_redirects: Annotated[int, Field(ge=0, le=10)] = 3
    actions_retry_base_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=10.0, description="The first retry's delay; each next one doubles, with jitter"
    )
    actions_retry_max_seconds: Annotated[float, Field(gt=0, le=86400)] = Field(
        default=3600.0, description="The longest delay between two deliveries of a run"
    )
    actions_retry_window_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] = Field(
        default=86400.0, description="A run keeps retrying its delivery this long, then fails"
    )
    actions_max_deliveries: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=50, description="At most this many delivery attempts per run"
    )
    actions_import_max_files: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=20, description="New files an import run takes at most (the rest: next run)"
    )
    actions_runs_keep_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=30, description="Runs older than this are deleted (each action keeps its last)"
    )
    actions_max_recipients: Annotated[int, Field(ge=1, le=100)] = Field(
        default=10, description="E-mail addresses one report may be sent to"
    )
    actions_per_owner: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=100, description="Actions one person may own"
    )
    actions_min_interval_seconds: Annotated[int, Field(ge=0, le=86400)] = Field(
        default=300, description="The shortest time between two times of a schedule"
    )
    actions_worker_slots: Annotated[int, Field(ge=0, le=256)] = Field(
        default=0,
        description="Worker slots of a process that actions' runs may use at once (0: all but "
        "one, so uploads always keep a slot)",
    )
    actions_max_manual_per_hour: Annotated[int, Field(ge=1, le=100000)] = Field(
        default=60, description="Manual runs and sends-again one action may have per hour"
    )
    actions_max_queued_runs: Annotated[int, Field(ge=1, le=100000)] = Field(
        default=100, description="Queued runs one action may have; more events are not run"
    )
    smtp_host: str | None = Field(
        default=None, max_length=255, description="The mail server reports are sent through"
    )
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_username: str | None = Field(default=None, max_length=255)
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls (port 587), ssl (port 465) or none (tests)"
    )
    smtp_from: str = Field(
        default="sales-ingest@localhost", max_length=255, description="The From address of reports"
    )
    smtp_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    actions_report_max_rows: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        default=100_000, description="Rows one report may hold over all its widgets"
    )
    actions_mail_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="The only domains reports may be e-mailed to (example.com, "
        "corp.example.org), comma-separated; empty: any domain",
    )
    actions_mails_per_hour: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=100, description="Report e-mails one person's actions may send in an hour"
    )
    actions_download_min_kb_per_s: Annotated[int, Field(ge=1, le=1024 * 1024)] = Field(
        default=64,
        description="The slowest an import's download may come (KiB/s) once it has waited "
        "ACTIONS_HTTP_TIMEOUT_SECONDS; a slower one fails and the next run tries again",
    )

    @field_validator("actions_allowed_hosts", "actions_s3_buckets", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("actions_mail_domains", mode="before")
    @classmethod
    def _domains(cls, value: object) -> object:
        """Domains as given, comma-separated, without case, a leading "@" or a trailing dot."""
        parts = value.split(",") if isinstance(value, str) else value
        if not isinstance(parts, list):
            return value
        return [str(p).strip().lstrip("@").rstrip(".").casefold() for p in parts if str(p).strip()]

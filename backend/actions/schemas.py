"""What a client sends and reads about actions: one definition for REST and GraphQL. Every field
is bounded; secrets are write-only (the webhook secret is in the creation answer only)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from backend.actions import cron
from backend.actions.models import ActionKind
from backend.actions.outbound.client import refused_header
from backend.events.models import EventKind
from backend.workbooks.documents import (
    DATASOURCE,
    TITLE,
    FilterIn,
    FilterValue,
    MeasureIn,
    WidgetQuery,
)

MAX_TRIGGERS = 10
MAX_URL = 2048
MAX_RECIPIENTS = 100  # the schema's bound; ACTIONS_MAX_RECIPIENTS is the service's
_EMAIL = re.compile(r"^[^@\s,;<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
# Windows an alert measures, as the dashboard names relative ranges.
Window = Literal[
    "yesterday", "last-7-days", "last-30-days", "last-90-days", "this-month", "previous-month",
    "this-quarter", "previous-quarter", "year-to-date", "previous-year",
]  # fmt: skip


def _web_url(value: str) -> str:
    if not re.match(r"(?i)^https?://[^\s/?#@]+", value) or any(c.isspace() for c in value):
        raise ValueError("Give an http:// or https:// address, such as https://example.com/hook.")
    if "@" in value.split("/", 3)[2]:
        raise ValueError("Put credentials in a header, not in the address (user:password@).")
    return value


def _s3_uri(value: str) -> str:
    if not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", value):
        raise ValueError("Give an S3 address as s3://bucket/key or s3://bucket/prefix/.")
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not an e-mail address such as ana@example.com.")
    return value


def _zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{value[:64]!r} is not a time zone: give an IANA name such as Europe/Berlin or UTC."
        ) from None
    return value


WebUrl = Annotated[str, Field(min_length=8, max_length=MAX_URL), AfterValidator(_web_url)]
S3Uri = Annotated[str, Field(min_length=6, max_length=1024), AfterValidator(_s3_uri)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Option = Annotated[str, Field(max_length=64)]


class HeaderIn(BaseModel):
    """A header sent with an import's request (Authorization: Bearer ...); its value is a secret:
    stored encrypted, never shown again."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=_HEADER_NAME.pattern)]
    value: Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^[^\r\n\x00]*$")]

    @field_validator("name")
    @classmethod
    def _not_framing(cls, name: str) -> str:
        refusal = refused_header(name)
        if refusal is not None:
            raise ValueError(refusal)
        return name


class ImportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: WebUrl | None = None
    s3_uri: S3Uri | None = None
    datasource: DATASOURCE
    mode: Option | None = None
    on_invalid: Option | None = None
    max_invalid_ratio: float | None = Field(default=None, ge=0, le=1)
    evolve: Option | None = None
    sheet: Annotated[str, Field(max_length=128)] | None = None
    time_column: Annotated[str, Field(max_length=128)] | None = None
    header: HeaderIn | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ImportParams:
        if (self.url is None) == (self.s3_uri is None):
            raise ValueError("An import takes its files from either url or s3_uri: give one.")
        if self.header is not None and self.url is None:
            raise ValueError("A header is sent with a url import only.")
        return self


class WebhookParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: WebUrl


class Condition(BaseModel):
    """above / below: the value compared with `value`; change_pct: the change against the
    window before, in percent, beyond ±`value`."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["above", "below", "change_pct"]
    value: float = Field(allow_inf_nan=False, ge=-1e15, le=1e15)


class AlertParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    datasource: DATASOURCE
    measure: MeasureIn
    filters: list[FilterIn] = Field(default_factory=list, max_length=20)
    window: Window = "yesterday"
    condition: Condition
    timezone: Annotated[str, Field(max_length=64), AfterValidator(_zone)] = "UTC"
    url: WebUrl | None = None  # a webhook sent when it fires (signed like a webhook action's)


class ReportParams(BaseModel):
    """A saved workbook's widgets (with `filters` over the workbook's), or one query."""

    model_config = ConfigDict(extra="forbid")
    workbook_id: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    query: WidgetQuery | None = None
    filters: dict[Annotated[str, Field(min_length=1, max_length=64)], FilterValue] | None = Field(
        default=None, max_length=50
    )
    to: list[Email] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    url: WebUrl | None = None
    subject: Annotated[str, Field(max_length=200, pattern=r"^[^\r\n\x00]*$")] | None = None

    @model_validator(mode="after")
    def _what_and_where(self) -> ReportParams:
        if (self.workbook_id is None) == (self.query is None):
            raise ValueError("A report sends a workbook (workbook_id) or one query: give one.")
        if not self.to and self.url is None:
            raise ValueError("A report goes to e-mail addresses (to), a url, or both: give one.")
        return self


PARAMS: dict[ActionKind, type[BaseModel]] = {
    ActionKind.IMPORT: ImportParams,
    ActionKind.WEBHOOK: WebhookParams,
    ActionKind.ALERT: AlertParams,
    ActionKind.REPORT: ReportParams,
}


class ManualTrigger(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["manual"]


class ScheduleTrigger(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["schedule"]
    cron: Annotated[str, Field(min_length=1, max_length=cron.MAX_EXPRESSION)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"

    @model_validator(mode="after")
    def _readable(self) -> ScheduleTrigger:
        self.cron = cron.check(self.cron, self.timezone).cron
        return self


class EventTrigger(BaseModel):
    """Runs on an event; `datasource` keeps the events of that datasource only."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["event"]
    event: EventKind
    datasource: DATASOURCE | None = None


TriggerIn = Annotated[ManualTrigger | ScheduleTrigger | EventTrigger, Field(discriminator="type")]


def _manual_only() -> list[TriggerIn]:
    return [ManualTrigger(type="manual")]


def parse_params(kind: ActionKind, params: dict[str, Any]) -> BaseModel:
    """The kind's parameters, checked (ValidationError names the field)."""
    return PARAMS[kind].model_validate(params)


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TITLE | None = None
    params: dict[Annotated[str, Field(max_length=64)], Any] | None = Field(
        default=None, max_length=30
    )
    triggers: list[TriggerIn] | None = Field(default=None, max_length=MAX_TRIGGERS)
    enabled: bool | None = None


class ActionIn(_Fields):
    name: TITLE
    kind: ActionKind
    params: dict[Annotated[str, Field(max_length=64)], Any] = Field(max_length=30)
    triggers: list[TriggerIn] = Field(default_factory=_manual_only, max_length=MAX_TRIGGERS)
    enabled: bool = True

    @model_validator(mode="after")
    def _kind_params(self) -> ActionIn:
        checked = _checked(self.kind, self.params)
        self.params = checked.model_dump(mode="json", exclude_none=True)
        return self


class ActionPatch(_Fields):
    """Fields left out keep their value; `params` replaces the parameters as a whole (a header
    left out of an import's new parameters keeps its stored value)."""


def _checked(kind: ActionKind, params: dict[str, Any]) -> BaseModel:
    try:
        return parse_params(kind, params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValueError(f"params{'.' + where if where else ''}: {message}") from None


# Answers --------------------------------------------------------------------------------


class TriggerOut(BaseModel):
    id: str
    type: Literal["manual", "schedule", "event"]
    cron: str | None = None
    timezone: str | None = None
    event: str | None = None
    datasource: str | None = None
    words: str | None = None  # a schedule in words
    next_times: list[dt.datetime] = Field(default_factory=list)  # a schedule's next 5


class DeliveryOut(BaseModel):
    attempt: int
    at: dt.datetime
    channel: Literal["http", "smtp"]
    target: str
    status_code: int | None = None
    latency_ms: float | None = None
    response_head: str | None = None
    error: str | None = None
    refused: bool = False


class RunOut(BaseModel):
    id: str
    action_id: str
    trigger: Literal["manual", "schedule", "event"]
    status: Literal["queued", "running", "succeeded", "failed"]
    scheduled_for: dt.datetime | None = None
    attempts: int
    deliveries: int
    next_attempt_at: dt.datetime | None = None
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    delivery_log: list[DeliveryOut] = Field(default_factory=list)
    event: dict[str, Any] | None = Field(
        default=None,
        description="What started an event run: type (task.failed, ...), and the task_id, "
        "datasource and filename it was about",
    )


class ActionOut(BaseModel):
    id: str
    name: str
    kind: ActionKind
    params: dict[str, Any]  # an import's header as {"name": ..., "set": true}
    triggers: list[TriggerOut]
    enabled: bool
    owner: str
    secret_hint: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_run: RunOut | None = None


class ActionCreatedOut(ActionOut):
    secret: str | None = Field(
        default=None,
        description="The webhook signing secret (whsec_...): shown in this answer only",
    )


class ActionPage(BaseModel):
    items: list[ActionOut]
    total: int
    limit: int
    offset: int


class RunPage(BaseModel):
    items: list[RunOut]
    total: int
    limit: int
    offset: int


class ScheduleOut(BaseModel):
    cron: str
    timezone: str
    words: str
    next_times: list[dt.datetime]


TRIGGERS: TypeAdapter[list[TriggerIn]] = TypeAdapter(list[TriggerIn])

"""One error hierarchy for the service. REST renders it as one JSON shape (`backend.api.errors`),
GraphQL as typed errors (`backend.schema.extensions`)."""

from __future__ import annotations

import errno
from typing import Any

import sqlalchemy.exc
from polars.exceptions import PanicException

from backend.db import database_unreachable

# What a safety net catches: every error, and Polars' panics, which derive from BaseException (so
# `except Exception` lets one end a worker's loop or a request's connection).
UNEXPECTED: tuple[type[BaseException], ...] = (Exception, PanicException)


class EnginePanic(RuntimeError):
    """Polars (or another native library) panicked: an internal fault, not the caller's input."""


class AppError(Exception):
    """An expected failure a user can act on. `detail` says what to change."""

    status_code = 400
    code = "bad_request"

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries (WWW-Authenticate, Retry-After...)."""
        return {}

    def __init__(
        self, message: str, detail: str | None = None, remedies: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        # Actions that would get it done ({"action": ..., "options": {...}}), which each door
        # words in its own terms after `detail` (backend.pipeline.remedies).
        self.remedies = remedies or []

    def body(self) -> dict[str, str | None]:
        return {"error": self.message, "detail": self.detail, "code": self.code}


class InvalidInput(AppError):
    status_code = 422
    code = "invalid_input"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="sales-ingest"'}


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class NestsTooDeeply(BadRequest):
    """JSON nested past what the decoder recurses into (it raises RecursionError: was a 500)."""

    def __init__(
        self,
        detail: str = "Send variables nested a few levels, not hundreds (arrays and objects "
        "inside one another).",
    ) -> None:
        super().__init__("The JSON nests too deeply", detail)


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"


class Busy(ServiceUnavailable):
    code = "busy"
    retry_after_seconds = 2

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class DependencyUnavailable(Busy):
    """A service we depend on (the metadata database, the object storage) does not answer: the
    client may retry (Retry-After); the message names the part by role, never its address."""

    code = "service_unavailable"
    retry_after_seconds = 5


class InsufficientStorage(AppError):
    """A disk the service writes to is full (or would be past MIN_FREE_DISK_MB)."""

    status_code = 507
    code = "insufficient_storage"


def database_unavailable() -> DependencyUnavailable:
    return DependencyUnavailable(
        "The metadata database cannot be reached right now",
        "Try again in a moment (Retry-After says when); an upload sent again is recognised, "
        "not loaded twice. Operators: /api/health says which part is down.",
    )


class StorageOutage(DependencyUnavailable):
    """The object storage did not answer (or said to come back later): a worker waits for it."""


def storage_unavailable() -> StorageOutage:
    return StorageOutage(
        "The file storage cannot be reached right now",
        "Try again in a moment (Retry-After says when): nothing of this request was kept. "
        "Operators: /api/health says which part is down.",
    )


# What each folder the service writes to is called for a reader, and the setting that moves it.
DISK_ROLES = {
    "temporary folder": "TMPDIR",
    "storage folder": "STORAGE_URL",
    "cache folder": "CACHE_DIR",
}


def disk_full(place: str) -> InsufficientStorage:
    """ENOSPC where the service writes: which folder (by its role, never its path) and what to do."""
    setting = DISK_ROLES.get(place, "MIN_FREE_DISK_MB")
    return InsufficientStorage(
        f"The server's {place} is full",
        f"Try again later. Operators: free disk space where the {place} is, or point {setting} "
        "at a larger disk.",
    )


def is_disk_full(error: BaseException | None) -> bool:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def as_app_error(error: BaseException | None) -> AppError | None:
    """The error a client is shown for `error`: our own as they are; the metadata database
    overloaded or unreachable (no pooled connection within DATABASE_WAIT_SECONDS, SQLite's write
    lock held too long, the connection lost or refused) as a 503 the client can retry; None for
    a fault of ours (a missing table is an OperationalError too, and stays a masked 500)."""
    if isinstance(error, AppError):
        return error
    if _database_busy(error):
        return Busy(
            "The service is busy: the metadata database did not answer in time",
            "Try again in a moment; an upload sent again is recognised, not loaded twice.",
        )
    if database_unreachable(error):
        return database_unavailable()
    return None


# SQLSTATEs of a PostgreSQL that cannot serve now: connection exceptions (class 08), too many
# connections, starting up or shutting down; and a transaction it rolled back to end a deadlock
# or a serialization conflict with another (the same request sent again goes through).
_UNAVAILABLE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03", "40P01", "40001")
_SQLITE_BUSY = ("database is locked", "database table is locked")


def _database_busy(error: BaseException | None) -> bool:
    if isinstance(error, sqlalchemy.exc.TimeoutError):
        return True  # no pooled connection in time
    if not isinstance(error, sqlalchemy.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", ""))
    if sqlstate and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    return isinstance(error, sqlalchemy.exc.OperationalError) and str(error.orig) in _SQLITE_BUSY


_BY_STATUS = {
    cls.status_code: cls
    for cls in (BadRequest, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType)
}


def for_status(status_code: int, message: str, detail: str | None = None) -> AppError:
    """The error for a status another library decided on (Strawberry's HTTP layer)."""
    error = _BY_STATUS.get(status_code, AppError)(message, detail)
    error.status_code = status_code
    return error

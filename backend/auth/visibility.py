"""What one caller may see of another principal or of a worker: one rule for every answer.

Admins see who did what exactly: a principal's label with its id (`alice (token:fffaf96e…)`)
and the worker that ran a task (`host:pid:abc123/0`). Everyone else sees a principal's name only
(`alice`) and "a worker": a token id is half of what an attacker needs, and a worker's host and
process id describe the machine."""

from __future__ import annotations

import re
from typing import Any

from backend.auth.principal import Principal
from backend.auth.roles import Role

A_WORKER = "a worker"
# Principal.label: "name (id)", the id being token:<hex>, jwt:<sub> or anonymous@<address>.
_LABEL_ID = re.compile(r" \((?:token:|jwt:|anonymous@)[^()]*\)$")
# A worker's name (backend.worker.pool): host:pid:6 hex digits, then /slot for a slot loop.
WORKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*:\d+:[0-9a-f]{6}(?:/\d+)?")
# Keys of an event's detail that name a worker.
_WORKER_KEYS = frozenset({"worker", "owner", "lease_owner"})


def sees_identities(viewer: Principal | None) -> bool:
    return viewer is not None and viewer.allows(Role.ADMIN)


def actor_shown(label: str | None, viewer: Principal | None) -> str | None:
    """A principal's label as `viewer` may see it: whole for admins, the name for others."""
    if label is None or sees_identities(viewer):
        return label
    return _LABEL_ID.sub("", label)


def principal_shown(name: str | None, principal_id: str | None, viewer: Principal | None) -> str:
    """A principal known by its name and id, as `viewer` may see it."""
    shown = name or "someone"
    if principal_id and principal_id != shown and sees_identities(viewer):
        return f"{shown} ({principal_id})"
    return shown


def worker_text(text: str, viewer: Principal | None) -> str:
    """A message as `viewer` may see it: worker names become "a worker" for all but admins."""
    return text if sees_identities(viewer) else WORKER_NAME.sub(A_WORKER, text)


def worker_detail(detail: dict[str, Any] | None, viewer: Principal | None) -> dict[str, Any] | None:
    """An event's detail as `viewer` may see it (a worker's name only for admins)."""
    if detail is None or sees_identities(viewer):
        return detail
    return {
        key: A_WORKER
        if key in _WORKER_KEYS
        else worker_text(value, viewer)
        if isinstance(value, str)
        else value
        for key, value in detail.items()
    }

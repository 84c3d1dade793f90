"""Server-Sent Events read from an httpx stream (the task updates of /api/ingest/tasks/{id}/events)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    id: str
    event: str
    data: dict[str, Any]


def messages(lines: Iterable[str]) -> Iterator[Message]:
    """The messages of an event stream, per the SSE format: `field: value` lines, a blank line
    ends a message, lines starting with ':' are comments (keep-alives)."""
    fields: dict[str, list[str]] = {}
    for line in lines:
        if not line:
            if "data" in fields:
                data = json.loads("\n".join(fields["data"]))
                yield Message(
                    (fields.get("id") or [""])[-1], (fields.get("event") or ["message"])[-1], data
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))

"""Druid SQL text pieces that cannot be parameters: identifiers, quoted."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def quote(identifier: str) -> str:
    """A double-quoted Druid SQL identifier. Callers pass names from an allow-list (the
    datasource's columns, validated datasource names); quoting keeps spaces and reserved words
    such as `rows` safe, and a control character is refused outright."""
    if not identifier or _CONTROL.search(identifier):
        raise ValueError(f"not a usable identifier: {identifier!r}")
    return '"' + identifier.replace('"', '""') + '"'

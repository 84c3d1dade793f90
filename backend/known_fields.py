"""Fields a request does not know are refused, not ignored: a misspelt `dryrun` must not load
the data that `dry_run` would only have previewed. The refusal names the field, the closest
known one and all of them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


def unknown_field(kind: str, name: str, known: Iterable[str]) -> str:
    """ "unknown form field 'dryrun'; did you mean dry_run?" (`kind`: "form field", "field")."""
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    said = f"unknown {kind} {name[:64]!r}"
    return f"{said}; did you mean {close[0]}?" if close else f"{said}."


def fields_are(known: Iterable[str]) -> str:
    return f"The fields are: {', '.join(known)}."


class StrictBody(BaseModel):
    """A JSON body that refuses keys it does not know, in words (OpenAPI says so too:
    additionalProperties is false)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    said = unknown_field("field", str(key), cls.model_fields)
                    raise ValueError(f"{said} {fields_are(cls.model_fields)}")
        return data

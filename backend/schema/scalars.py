"""Custom scalars."""

from __future__ import annotations

from typing import NewType

from strawberry.types.scalar import ScalarDefinition, scalar

# GraphQL's Int is 32-bit; file sizes and row counts can exceed it.
Long = NewType("Long", int)

SCALARS: dict[object, ScalarDefinition] = {
    Long: scalar(
        name="Long",
        description="A 64-bit integer, serialised as a JSON number",
        serialize=int,
        parse_value=int,
    )
}

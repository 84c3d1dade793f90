"""The GraphQL schema as SDL, for the frontend's generated types (frontend/schema.graphql).

    .venv/bin/python -m backend.schema.export > frontend/schema.graphql

tests/schema/test_schema_export.py fails while the committed file differs from this output.
"""

from __future__ import annotations

import sys

from backend.schema import build_schema


def schema_sdl() -> str:
    """The printed schema, ending with one newline."""
    return str(build_schema()).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(schema_sdl())


if __name__ == "__main__":
    main()

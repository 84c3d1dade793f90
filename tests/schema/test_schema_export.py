"""The frontend's committed schema.graphql is the schema the service serves: its generated types
cannot drift from the backend."""

from __future__ import annotations

import difflib
from pathlib import Path

from backend.schema.export import schema_sdl

COMMITTED = Path(__file__).resolve().parents[2] / "frontend" / "schema.graphql"
REGENERATE = ".venv/bin/python -m backend.schema.export > frontend/schema.graphql"


def test_committed_schema_matches_the_served_schema() -> None:
    exported = schema_sdl()
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if committed != exported:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                exported.splitlines(keepends=True),
                "frontend/schema.graphql (committed)",
                "backend.schema (served)",
            )
        )
        raise AssertionError(
            "frontend/schema.graphql differs from the GraphQL schema the service serves. "
            f"Regenerate it with `{REGENERATE}`, then rebuild the frontend "
            f"(`npm run build` in frontend/) and fix what its types report.\n{diff[:4000]}"
        )

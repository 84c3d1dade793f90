"""The frontend's committed openapi.json is the OpenAPI document the service serves: the REST types
generated from it (frontend/src/api/openapi.ts) cannot drift from the backend."""

from __future__ import annotations

import difflib
from pathlib import Path

from backend.__main__ import openapi_json
from tests.conftest import Backend

COMMITTED = Path(__file__).resolve().parents[2] / "frontend" / "openapi.json"
REGENERATE = ".venv/bin/python -m backend openapi --out frontend/openapi.json"


def test_committed_openapi_document_matches_the_served_one(embedded: Backend) -> None:
    exported = openapi_json(embedded.settings)
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if committed != exported:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                exported.splitlines(keepends=True),
                "frontend/openapi.json (committed)",
                "the service's /openapi.json (served)",
            )
        )
        raise AssertionError(
            "frontend/openapi.json differs from the OpenAPI document the service serves. "
            f"Regenerate it with `{REGENERATE}`, then rebuild the frontend "
            f"(`npm run build` in frontend/) and fix what its types report.\n{diff[:4000]}"
        )


def test_the_command_line_prints_no_library_warnings(tmp_path: Path) -> None:
    """An operator's command writes only what it means to: Authlib warns on import about its
    httpx support, which every `python -m backend ...` used to print."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "backend", "openapi", "--out", str(tmp_path / "o.json")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=COMMITTED.parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr

"""Every example in the README runs: the `sh` code blocks are executed, in order, in one bash
session against a real server on a fresh database (the README's http://127.0.0.1:8000 replaced by
its address). `curl` fails on any HTTP error status, on an answer that is not the JSON or CSV it
should be, and on a GraphQL answer with errors. Blocks that set up machines (make, docker, exports
for PostgreSQL) are marked `console` in the README and are not run here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.e2e.processes import ROOT, cli_admin_token, process_env, uvicorn_server

pytestmark = pytest.mark.slow
README = ROOT / "README.md"
BLOCK = re.compile(r"^```(\w[\w-]*)\n(.*?)^```", re.S | re.M)
README_URL = "http://127.0.0.1:8000"

# Wraps curl: fail on HTTP errors (printing the body), and on GraphQL errors in a JSON answer.
PREAMBLE = r"""
set -euo pipefail
curl() {
  local out
  out=$(command curl --fail-with-body -sS "$@") || { printf '%s\n' "$out" >&2; return 1; }
  printf '%s\n' "$out"
  printf '%s' "$out" | python3 -c '
import json, sys
text = sys.stdin.read()
if text.lstrip().startswith(("{", "[")):
    body = json.loads(text)
    if isinstance(body, dict) and body.get("errors"):
        sys.exit("GraphQL errors: " + json.dumps(body["errors"])[:2000])
'
}
"""


def blocks(kind: str) -> list[str]:
    return [body for info, body in BLOCK.findall(README.read_text()) if info == kind]


def test_the_readme_has_runnable_examples_and_no_placeholders() -> None:
    runnable = blocks("sh")
    assert len(runnable) >= 3
    for body in runnable:
        commands = [line for line in body.splitlines() if not line.lstrip().startswith("#")]
        assert "…" not in "\n".join(commands), f"a placeholder in a runnable example:\n{body}"
    infos = {info for info, _ in BLOCK.findall(README.read_text())}
    assert infos <= {"sh", "console", "json", "text"}, infos


def test_every_readme_example_runs_against_a_real_server(embedded: Backend, tmp_path: Path) -> None:
    """With access control as shipped (no anonymous role): the admin token comes from the CLI
    `make run` calls, written where the README reads it."""
    env = process_env(embedded.env, WORKER_POLL_SECONDS="0.1", AUTH_ANONYMOUS_ROLE="none")
    token_file = tmp_path / "admin-token"
    cli_admin_token(env, token_file)
    assert token_file.stat().st_mode & 0o777 == 0o600
    with uvicorn_server(env, tmp_path / "server.log", port=None) as url:
        script = PREAMBLE + "\n".join(
            body.replace(README_URL, url).replace("var/admin-token", str(token_file))
            for body in blocks("sh")
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-3000:]}"

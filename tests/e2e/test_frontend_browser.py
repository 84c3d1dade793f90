"""The React app's own suites, run from `make test`: Vitest component tests, then Playwright
driving Debian's Chromium against a real uvicorn on a fresh SQLite database that only an admin
token opens (frontend/e2e: upload data.csv to succeeded followed over the websocket, dashboard
figures equal the API's, filters and view settings in the URL, status, the Sigma refusal, a bad
file's line numbers, cancel and retry from a task's page, axe-core, 390 px; an uploader and a
viewer, a token each, sharing a workbook in two-users.spec.ts).
Screenshots of every page are left in frontend/test-results/screenshots."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.e2e.processes import ROOT, cli_admin_token, process_env, uvicorn_server
from tests.services import unavailable

pytestmark = pytest.mark.slow
FRONTEND = ROOT / "frontend"
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 1200  # seconds, for each npm step on a slow CI machine
# The person frontend/e2e/signin.spec.ts signs in as (a password of 10..200 characters).
USER_NAME = "pat"
USER_PASSWORD = "a long enough e2e password"
# The two people of frontend/e2e/two-users.spec.ts: an uploader who shares, a viewer who reads.
TWO_USERS = {"UPLOADER": ("ana", "uploader"), "VIEWER": ("ben", "viewer")}


def npm() -> str:
    found = shutil.which("npm")
    if found is None:
        unavailable(
            "npm is not installed: apt-get install npm (then make install builds frontend/)"
        )
    assert found is not None
    return found


def run(args: list[str], env: dict[str, str] | None = None) -> None:
    """Run an npm step in frontend/; fail with its output."""
    try:
        done = subprocess.run(
            args,
            cwd=FRONTEND,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{' '.join(args)}` took more than {TIMEOUT}s:\n{exc.stdout!r}", pytrace=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-12000:]
        pytest.fail(f"`{' '.join(args)}` failed ({done.returncode}):\n{output}", pytrace=False)


def ensure_built(npm_path: str) -> None:
    """`make install` builds the app; a checkout where it did not run gets it built here."""
    if not (FRONTEND / "node_modules" / ".bin").is_dir():
        run([npm_path, "ci", "--no-audit", "--no-fund", "--loglevel=error"])
    if not (FRONTEND / "dist" / "index.html").is_file():
        run([npm_path, "run", "build"])


def bad_csv(path: Path) -> Path:
    """data.csv's header and four rows with new invoice ids; line 3 has a quantity that is not a
    number and line 5 a rating past 10: half the rows invalid, so the upload fails."""
    lines = (ROOT / "data.csv").read_text(encoding="utf-8").splitlines()
    rows = []
    for number, line in enumerate(lines[1:5], start=2):
        cells = line.split(",")
        cells[0] = f"999-00-{number:04d}"
        if number == 3:
            cells[7] = "many"
        if number == 5:
            cells[16] = "15.5"
        rows.append(",".join(cells))
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return path


def backend_cli(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m backend ARGS` in the server's environment."""
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def password_user(env: dict[str, str]) -> dict[str, str]:
    """A person with a password for the sign-in specs (`users create`, then `users set-password`
    reading it from stdin), as USER_NAME and USER_PASSWORD; none when this checkout's CLI cannot
    set passwords yet (those specs then skip themselves, and this says so)."""
    if backend_cli(["users", "set-password", "--help"], env).returncode != 0:
        warnings.warn(
            "`python -m backend users set-password` does not exist in this checkout: the "
            "password sign-in specs of frontend/e2e/signin.spec.ts are skipped",
            stacklevel=2,
        )
        return {}
    for args, stdin in (
        (["users", "create", USER_NAME], None),
        (["users", "set-password", USER_NAME], f"{USER_PASSWORD}\n"),
    ):
        done = backend_cli(args, env, stdin)
        assert done.returncode == 0, f"`{' '.join(args)}` failed: {done.stdout}{done.stderr}"
    return {"USER_NAME": USER_NAME, "USER_PASSWORD": USER_PASSWORD}


def two_users(env: dict[str, str]) -> dict[str, str]:
    """`users create NAME --role ROLE`, then `tokens create --user NAME`, for each of TWO_USERS:
    their tokens as UPLOADER_TOKEN and VIEWER_TOKEN, their names as UPLOADER_NAME and VIEWER_NAME
    (the token is the first line `tokens create` prints)."""
    out: dict[str, str] = {}
    for key, (name, role) in TWO_USERS.items():
        for args in (
            ["users", "create", name, "--role", role],
            ["tokens", "create", "--user", name],
        ):
            done = backend_cli(args, env)
            assert done.returncode == 0, f"`{' '.join(args)}` failed: {done.stdout}{done.stderr}"
        out[f"{key}_TOKEN"] = done.stdout.splitlines()[0].strip()
        out[f"{key}_NAME"] = name
    return out


def test_vitest_component_tests_pass() -> None:
    npm_path = npm()
    ensure_built(npm_path)
    run([npm_path, "test"], env={**os.environ, "CI": "1"})


# 66 specs with waits of their own: alone (Makefile), as a person's browser would be.
@pytest.mark.solo
def test_playwright_suite_passes_against_a_real_server(embedded: Backend, tmp_path: Path) -> None:
    npm_path = npm()
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (Playwright drives it)")
    ensure_built(npm_path)
    # Every call needs the token. The worker waits 2 s before recording each upload's success,
    # so that the suite can cancel a running upload from its page (frontend/e2e/actions.spec.ts).
    # Parts of 5 MiB (the least S3 takes): frontend/e2e/upload-resume.spec.ts sends a file of 3.
    env = process_env(
        embedded.env,
        AUTH_ANONYMOUS_ROLE="none",
        WORKER_DEBUG_PAUSE_SECONDS="2",
        UPLOAD_PART_MB="5",
    )
    token_file = tmp_path / "admin-token"
    cli_admin_token(env, token_file)
    person = password_user(env)
    people = two_users(env)
    with uvicorn_server(env, tmp_path / "server.log") as url:
        suite_env = {
            **os.environ,
            "CI": "1",
            "BASE_URL": url,
            "ADMIN_TOKEN": token_file.read_text(encoding="utf-8").strip(),
            "DATA_CSV": str(ROOT / "data.csv"),
            "BAD_CSV": str(bad_csv(tmp_path / "bad.csv")),
            "CHROMIUM": str(CHROMIUM),
            **person,
            **people,
        }
        try:
            # PLAYWRIGHT_ARGS narrows a local run to some specs ("e2e/charts.spec.ts"); CI runs all.
            extra = os.environ.get("PLAYWRIGHT_ARGS", "").split()
            run([npm_path, "exec", "--", "playwright", "test", *extra], env=suite_env)
        except pytest.fail.Exception as exc:
            log = (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")
            raise AssertionError(f"{exc}\n--- server log (end) ---\n{log[-4000:]}") from None

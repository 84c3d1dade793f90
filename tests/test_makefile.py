"""`make test`'s two pytest runs (the suite under workers, then the solo tests alone), run with a
stand-in pytest that answers with chosen exit statuses."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NO_TESTS = 5  # pytest's status when its selection is empty


def make_test(tmp_path: Path, workers_status: int, solo_status: int) -> int:
    """The status of `make test` (its `install` step taken as done) when the run under workers
    ends with `workers_status` and the solo run with `solo_status`."""
    fake = tmp_path / "pytest"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"not solo"*) exit ' + str(workers_status) + " ;; esac\n"
        "exit " + str(solo_status) + "\n"
    )
    fake.chmod(0o755)
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", "install", "test", f"BIN={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("workers", "solo", "passes"),
    [
        (0, 0, True),
        (0, NO_TESTS, True),  # a selection (PYTEST_ADDOPTS, -k) without solo tests
        (NO_TESTS, 0, True),  # a selection of solo tests only
        (NO_TESTS, NO_TESTS, False),  # nothing selected at all: say so
        (1, 0, False),
        (0, 1, False),
        (1, NO_TESTS, False),
        (NO_TESTS, 1, False),
    ],
)
def test_make_test_fails_only_for_failures_or_an_empty_selection(
    tmp_path: Path, workers: int, solo: int, passes: bool
) -> None:
    assert (make_test(tmp_path, workers, solo) == 0) is passes

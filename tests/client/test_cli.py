"""`sales-ingest` (and `python -m backend upload ...`) against a real uvicorn: exit codes, the
summary with line numbers, --json, --rejected, the listings, and the progress bars on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.e2e.processes import ROOT, cli_admin_token, process_env, uvicorn_server
from tests.factories import sales_csv

SCRIPT = Path(sys.executable).parent / "sales-ingest"


@pytest.fixture
def served(embedded: Backend, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none")
    token = cli_admin_token(env, tmp_path / "admin-token")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        yield url, token, env


def sales_ingest(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env or dict(os.environ),
        cwd=cwd,
    )


def bad_sales_file(path: Path) -> Path:
    lines = sales_csv(rows=12, seed=21).decode().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")  # file line 4
    row[header.index("Quantity")] = "0"
    lines[3] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_upload_is_followed_to_success_and_listed(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    good = tmp_path / "good.csv"
    good.write_bytes(sales_csv(rows=30, seed=20))

    done = sales_ingest(
        "upload", str(good), "--datasource", "sales", "--url", url, "--token", token
    )

    assert done.returncode == 0, done.stderr
    assert "succeeded: good.csv -> sales" in done.stdout
    assert "rows: 30 read, 30 valid, 0 rejected" in done.stdout
    assert "validating:" in done.stderr and "succeeded:" in done.stderr  # the phases, live

    again = sales_ingest(
        "upload", str(good), "--datasource", "sales", "--url", url, "--token", token, "--json"
    )
    assert again.returncode == 0, again.stderr
    task = json.loads(again.stdout)  # a duplicate: the earlier task, as JSON for scripts
    assert task["status"] == "succeeded" and task["rows_valid"] == 30

    listed = sales_ingest("tasks", "--url", url, "--token", token, "--json")
    assert [t["task_id"] for t in json.loads(listed.stdout)["items"]] == [task["task_id"]]
    shown = sales_ingest("status", task["task_id"], "--url", url, "--token", token)
    assert shown.returncode == 0 and "rows: 30 read" in shown.stdout
    sources = sales_ingest("datasources", "--url", url, "--token", token)
    assert sources.returncode == 0 and "sales" in sources.stdout and "30" in sources.stdout

    # Through `python -m backend` too, with the token from the environment.
    env = dict(os.environ, SALES_INGEST_TOKEN=token, SALES_INGEST_URL=url)
    module = subprocess.run(
        [sys.executable, "-m", "backend", "tasks"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert module.returncode == 0 and task["task_id"] in module.stdout, module.stderr


def test_a_bad_file_exits_1_with_line_numbers_and_the_rejected_rows(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    bad = bad_sales_file(tmp_path / "bad.csv")
    rejected = tmp_path / "rejected.csv"

    done = sales_ingest(
        "upload",
        str(bad),
        "--datasource",
        "sales",
        "--url",
        url,
        "--token",
        token,
        "--rejected",
        str(rejected),
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("failed: bad.csv -> sales ")
    assert "Quantity" in done.stdout and "line 4 ('0')" in done.stdout, done.stdout
    written = rejected.read_text().splitlines()
    assert len(written) == 2 and "_reason" in written[0]  # header and the one bad row


def test_a_file_with_a_new_column_is_told_how_and_loads_with_evolve(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    first, wider = tmp_path / "first.csv", tmp_path / "wider.csv"
    first.write_text("day,amount\n2024-01-01,1\n")
    wider.write_text("day,amount,discount\n2024-01-02,2.5,0.5\n")
    base = ("--datasource", "readings", "--url", url, "--token", token)
    assert sales_ingest("upload", str(first), *base).returncode == 0

    told = sales_ingest("upload", str(wider), *base)

    assert told.returncode == 1
    assert "discount: new column: re-send with evolve=add_columns" in told.stdout, told.stdout
    loaded = sales_ingest(
        "upload", str(wider), *base, "--evolve", "add_columns", "--evolve", "widen"
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "discount: new column: applied" in loaded.stdout
    assert "amount: decimals, integer column: applied" in loaded.stdout


def test_usage_access_and_connection_problems_exit_2(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    good = tmp_path / "good.csv"
    good.write_bytes(sales_csv(rows=5, seed=22))

    missing = sales_ingest("upload", str(tmp_path / "nope.csv"), "--datasource", "s", "--url", url)
    refused = sales_ingest(
        "upload", str(good), "--datasource", "sales", "--url", url, "--token", "sit_" + "x" * 38
    )
    nobody = sales_ingest("tasks", "--url", url, cwd=tmp_path)  # no token anywhere
    unreachable = sales_ingest("tasks", "--url", "http://127.0.0.1:9", "--token", token)
    wrong = sales_ingest("upload", str(good), "--url", url)  # --datasource missing

    assert missing.returncode == 2 and "no such file" in missing.stderr, missing.stderr
    assert refused.returncode == 2 and "401" in refused.stderr, refused.stderr
    assert nobody.returncode == 2 and "--token" in nobody.stderr, nobody.stderr
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr
    assert wrong.returncode == 2 and "--datasource" in wrong.stderr
    assert "Traceback" not in missing.stderr + refused.stderr + unreachable.stderr


def test_on_a_terminal_the_upload_and_processing_show_progress_bars(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    good = tmp_path / "big.csv"
    good.write_bytes(sales_csv(rows=20_000, seed=23))
    primary, secondary = pty.openpty()
    env = dict(os.environ, COLUMNS="120", TERM="xterm-256color")
    process = subprocess.Popen(
        [str(SCRIPT), "upload", str(good), "--datasource", "sales", "--url", url, "--token", token],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        cwd=ROOT,
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break  # the process ended and closed the terminal
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(primary)
    assert process.wait(timeout=30) == 0, seen[-2000:]
    text = seen.decode(errors="replace")
    assert "upload" in text and "100%" in text, text[-2000:]
    assert "━" in text  # rich's bar
    assert "20,000 rows read" in text, text[-2000:]


def test_a_traced_task_says_its_trace() -> None:
    from io import StringIO

    from rich.console import Console

    from backend.client.cli import summarize

    task = {
        "status": "succeeded",
        "filename": "data.csv",
        "datasource": "sales",
        "task_id": "t1",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    }
    shown = StringIO()
    summarize(task, Console(file=shown, width=200))
    assert "trace: 4bf92f3577b34da6a3ce929d0e0e4736" in shown.getvalue()
    untraced = StringIO()
    summarize({**task, "trace_id": None}, Console(file=untraced, width=200))
    assert "trace" not in untraced.getvalue()

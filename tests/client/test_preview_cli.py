"""`sales-ingest upload FILE --preview` then `sales-ingest confirm TASK ...` against a real
uvicorn: the preview prints its columns, first rows and the command that loads it; confirming
with --type and --day-first loads the rows as chosen."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client.test_cli import sales_ingest
from tests.conftest import Backend
from tests.e2e.processes import cli_admin_token, process_env, uvicorn_server

READINGS = "when,amount,code\n1/5/2019,10,007\n2/5/2019,20,008\n3/5/2019,30,009\n"


@pytest.fixture
def served(embedded: Backend, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none")
    token = cli_admin_token(env, tmp_path / "admin-token")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        yield {**env, "SALES_INGEST_URL": url, "SALES_INGEST_TOKEN": token}


def test_preview_then_confirm_with_a_type_and_day_first(
    served: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "readings.csv"
    data.write_text(READINGS)

    shown = sales_ingest("upload", str(data), "--datasource", "readings", "--preview", env=served)

    assert shown.returncode == 0, shown.stderr
    assert "3 rows would be loaded; nothing was loaded." in shown.stdout
    assert re.search(
        r"amount\s+amount\s+integer\s+yes\s+10, 20, 30\s+amount must be a whole number",
        shown.stdout,
    )
    assert re.search(r"2019-01-05\s+10\s+007", shown.stdout)
    (command,) = re.findall(r"sales-ingest confirm \w+", shown.stdout)
    task_id = command.split()[-1]
    listed = json.loads(sales_ingest("datasources", "--json", env=served).stdout)
    assert "readings" not in json.dumps(listed)  # nothing was loaded

    loaded = sales_ingest(
        "confirm", task_id, "--type", "amount=float", "--day-first", "--json", env=served
    )

    assert loaded.returncode == 0, loaded.stderr
    task = json.loads(loaded.stdout)
    assert (task["status"], task["dry_run"]) == ("succeeded", False)
    assert task["overrides"] == {
        "types": {"amount": "float"},
        "date_order": "day_first",
        "rename": {},
        "drop": [],
    }
    again = sales_ingest("confirm", task_id, "--type", "amount=money", env=served)
    assert again.returncode == 2
    assert "--type 'money' is not a column type" in again.stderr


def test_the_command_printed_after_preview_again_loads_what_it_showed(
    served: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "readings.csv"
    data.write_text(READINGS)
    first = sales_ingest("upload", str(data), "--datasource", "readings", "--preview", env=served)
    (command,) = re.findall(r"sales-ingest confirm \w+", first.stdout)
    url, token = served["SALES_INGEST_URL"], served["SALES_INGEST_TOKEN"]
    elsewhere = {k: v for k, v in served.items() if k != "SALES_INGEST_URL"}

    again = sales_ingest(
        *command.split()[1:],
        *("--type", "amount=float", "--day-first", "--preview"),
        *("--url", url, "--token", token),
        env=elsewhere,
    )

    assert again.returncode == 0, again.stderr
    assert re.search(r"2019-05-01\s+10\.0\s+007", again.stdout)  # as it would be stored
    assert "Changes asked after the preview: amount read as float; dates read day first." in (
        again.stdout
    )
    printed = again.stdout.rstrip().splitlines()[-1].strip()
    assert printed.startswith("sales-ingest confirm ")
    assert printed.endswith(f" --url {url} --token <your token>")
    assert token not in again.stdout
    words = shlex.split(printed.removesuffix(" --token <your token>"))
    loaded = sales_ingest(*words[1:], env=elsewhere)  # the token from the environment
    assert loaded.returncode == 0, loaded.stderr
    assert "Changes asked after the preview: amount read as float; dates read day first." in (
        loaded.stdout
    )
    (loaded_id,) = re.findall(r"\(task (\w+)\)", loaded.stdout)
    status = sales_ingest("status", loaded_id, env=served)
    assert "Changes asked after the preview: amount read as float; dates read day first." in (
        status.stdout
    )
    auth = {"Authorization": f"Bearer {token}"}
    rows = httpx.get(f"{url}/api/datasources/readings/rows.csv", headers=auth)
    assert rows.status_code == 200, rows.text
    found = list(csv.DictReader(io.StringIO(rows.text)))
    assert sorted(r["when"][:10] for r in found) == ["2019-05-01", "2019-05-02", "2019-05-03"]
    assert sorted(float(r["amount"]) for r in found) == [10.0, 20.0, 30.0]
    columns = httpx.get(f"{url}/api/datasources/readings", headers=auth).json()["columns"]
    assert columns["amount"] == "Float64"


def test_a_failed_preview_says_that_nothing_was_loaded() -> None:
    from io import StringIO

    from rich.console import Console

    from backend.client.output import summarize

    task = {"status": "failed", "filename": "r.csv", "datasource": "readings", "task_id": "t1"}
    shown = StringIO()
    summarize(
        {**task, "dry_run": True, "rows_read": 3, "rows_valid": 0, "rows_rejected": 3},
        Console(file=shown, width=200),
    )
    assert "A preview: nothing was loaded." in shown.getvalue()
    loaded = StringIO()
    summarize({**task, "dry_run": False}, Console(file=loaded, width=200))
    assert "preview" not in loaded.getvalue()


def test_a_tasks_changes_are_said_in_words() -> None:
    from io import StringIO

    from rich.console import Console

    from backend.client.output import summarize

    task = {"status": "succeeded", "filename": "r.csv", "datasource": "shop", "task_id": "t1"}
    overrides = {
        "types": {"store_code": "string"},
        "date_order": "day_first",
        "rename": {"product": "item"},
        "drop": ["units"],
    }
    shown = StringIO()
    summarize({**task, "overrides": overrides}, Console(file=shown, width=300))
    assert (
        "Changes asked after the preview: store_code read as string; product stored as item; "
        "units left out; dates read day first."
    ) in shown.getvalue()
    plain = StringIO()
    summarize({**task, "overrides": None}, Console(file=plain, width=300))
    assert "Changes" not in plain.getvalue()

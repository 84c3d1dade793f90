"""`sales-ingest actions ...` against a real uvicorn (with its workers): create from a file (the
signing secret printed once), list, run and wait for the run, its history with deliveries,
disable and enable, a schedule in words, and the service's sentences when it refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.test_cli import sales_ingest
from tests.conftest import Backend
from tests.e2e.processes import ROOT, cli_admin_token, process_env, uvicorn_server
from tests.factories import sales_csv

Served = tuple[str, str, str]  # the service's address, an admin's token, another person's


def person_token(env: dict[str, str], name: str, role: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "backend", "tokens", "create", "--name", name, "--role", role],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return made.stdout.splitlines()[0].strip()


@pytest.fixture
def served(embedded: Backend, tmp_path: Path) -> Iterator[Served]:
    # ACTIONS_ALLOWED_HOSTS unset: a webhook to 127.0.0.1 is refused, so its run fails at once
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none", WORKER_POLL_SECONDS="0.1")
    env.pop("ACTIONS_ALLOWED_HOSTS", None)
    token = cli_admin_token(env, tmp_path / "admin-token")
    other = person_token(env, "other", "uploader")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        yield url, token, other


def actions(
    served: Served, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    url, admin, _ = served
    return sales_ingest("actions", *args, "--url", url, "--token", token or admin)


def webhook_file(tmp_path: Path) -> Path:
    path = tmp_path / "hook.json"
    path.write_text(
        json.dumps(
            {
                "name": "Tell the warehouse",
                "kind": "webhook",
                "params": {"url": "http://127.0.0.1:9/hook"},
                "triggers": [
                    {"type": "manual"},
                    {"type": "schedule", "cron": "30 8 * * 1-5", "timezone": "Europe/Berlin"},
                ],
            }
        )
    )
    return path


def test_an_action_is_created_listed_run_and_its_runs_shown(served: Served, tmp_path: Path) -> None:
    made = actions(served, "create", "--file", str(webhook_file(tmp_path)))

    assert made.returncode == 0, made.stderr
    assert "Created action 'Tell the warehouse' (webhook): " in made.stdout
    secret = made.stdout.split("Signing secret: ")[1].split()[0]
    assert secret.startswith("whsec_")
    assert (made.stdout + made.stderr).count(secret) == 1
    assert "Copy it now: it will not be shown again." in made.stderr
    action = made.stdout.split("(webhook): ")[1].split()[0]

    listed = actions(served, "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(action))
    assert row.split("\t")[1:6] == [
        "Tell the warehouse",
        "webhook",
        "run by hand; At 08:30 on Monday through Friday, Europe/Berlin time",  # as given
        "yes",
        "never run",
    ], row
    assert listed.stdout.endswith("1 of 1 action\n")
    assert secret not in listed.stdout + actions(served, "show", action).stdout

    shown = actions(served, "show", action)
    assert "trigger: At 08:30 on Monday through Friday, Europe/Berlin time" in shown.stdout
    assert shown.stdout.count("  next: ") == 5 and "+01:00" in shown.stdout, shown.stdout

    ran = actions(served, "run", action, "--wait")
    assert ran.returncode == 1, ran.stdout + ran.stderr  # the loopback address is refused
    assert ran.stdout.startswith("failed: run "), ran.stdout
    assert "delivery #1 to http://127.0.0.1:9: refused: " in ran.stdout, ran.stdout
    run_id = ran.stdout.split("failed: run ")[1].split()[0]

    runs = actions(served, "runs", action, "--limit", "5")
    assert runs.returncode == 0, runs.stderr
    line = next(line for line in runs.stdout.splitlines() if line.startswith(run_id))
    cells = line.split("\t")  # piped: one tab-separated line per run
    assert cells[1:3] == ["manual", "failed"] and cells[5].startswith("#1 refused: "), line
    assert runs.stdout.endswith("1 of 1 run\n")

    queued = actions(served, "run", action)
    assert queued.returncode == 0 and len(queued.stdout.strip()) == 32, queued.stdout


def test_an_action_is_disabled_enabled_and_deleted(served: Served, tmp_path: Path) -> None:
    made = actions(served, "create", "--file", str(webhook_file(tmp_path)), "--json")
    action = json.loads(made.stdout)["id"]

    off = actions(served, "disable", action)
    assert off.returncode == 0 and "is disabled" in off.stdout, off.stdout + off.stderr
    assert actions(served, "list").stdout.splitlines()[1].split("\t")[4] == "no"  # enabled
    on = actions(served, "enable", action)
    assert on.returncode == 0 and "is enabled" in on.stdout
    assert json.loads(actions(served, "show", action, "--json").stdout)["enabled"] is True

    kept = actions(served, "delete", action)  # no --yes and no terminal: nothing is deleted
    assert kept.returncode == 2 and "add --yes" in kept.stderr, kept.stderr
    gone = actions(served, "delete", action, "--yes")
    assert gone.returncode == 0 and "Deleted action 'Tell the warehouse'" in gone.stdout
    assert actions(served, "list").stdout.endswith("0 of 0 actions\n")


def test_a_schedule_is_read_in_words_and_a_bad_one_is_refused(served: Served) -> None:
    said = actions(served, "schedule", "30 8 * * 1-5", "--timezone", "Europe/Berlin")

    assert said.returncode == 0, said.stderr
    lines = said.stdout.splitlines()
    assert lines[0] == "At 08:30 on Monday through Friday, Europe/Berlin time"
    assert len(lines) == 6 and all(line.startswith("  next: ") for line in lines[1:])
    assert all(line.endswith(" 08:30:00 +01:00") for line in lines[1:]), lines

    bad = actions(served, "schedule", "61 * * * *")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: 422: "), bad.stderr
    assert "The schedule '61 * * * *' is not a cron expression (bad minute)" in bad.stderr
    assert "give --timezone an IANA name" in bad.stderr  # the advice in the client's terms
    zone = actions(served, "schedule", "0 8 * * *", "--timezone", "Mars/Olympus")
    assert zone.returncode == 2 and "'Mars/Olympus' is not a time zone" in zone.stderr
    assert "Traceback" not in bad.stderr


def test_another_persons_action_is_not_found(served: Served, tmp_path: Path) -> None:
    made = actions(served, "create", "--file", str(webhook_file(tmp_path)), "--json")
    action = json.loads(made.stdout)["id"]
    _, _, other = served

    for command in ("show", "run", "runs", "disable"):
        refused = actions(served, command, action, token=other)
        assert refused.returncode == 2, refused.stdout
        assert refused.stderr == (
            f"error: 404: No action {action!r} is yours to see. "
            "`sales-ingest actions list` lists yours; check the id.\n"
        ), refused.stderr
    assert actions(served, "list", token=other).stdout.endswith("0 of 0 actions\n")


def test_a_file_that_is_not_an_action_is_told(served: Served, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{name: 1")
    listed = tmp_path / "list.json"
    listed.write_text("[]")

    assert "is not valid JSON" in actions(served, "create", "--file", str(broken)).stderr
    assert "must hold one JSON object" in actions(served, "create", "--file", str(listed)).stderr
    missing = actions(served, "create", "--file", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    wrong_id = actions(served, "show", "../tokens")
    assert wrong_id.returncode == 2 and "is not an action id" in wrong_id.stderr


def test_waiting_for_an_alert_ends_with_its_status(served: Served, tmp_path: Path) -> None:
    alert = tmp_path / "alert.json"
    alert.write_text(
        json.dumps(
            {
                "name": "Quiet day",
                "kind": "alert",
                "params": {
                    "datasource": "sales",
                    "measure": {"aggregate": "count"},
                    "window": "yesterday",
                    "condition": {"op": "below", "value": 10},
                },
            }
        )
    )
    made = actions(served, "create", "--file", str(alert), "--json")
    assert made.returncode == 0, made.stderr
    assert "Copy it now" not in made.stderr  # no url: no signing secret
    action = json.loads(made.stdout)["id"]

    empty = actions(served, "run", action, "--wait")  # nothing uploaded into sales yet
    assert empty.returncode == 1, empty.stdout + empty.stderr
    assert "error: The datasource sales has no time column" in empty.stdout, empty.stdout

    data = tmp_path / "sales.csv"
    data.write_bytes(sales_csv(rows=20, seed=5))  # rows of 2019: none yesterday
    url, token, _ = served
    loaded = sales_ingest(
        "upload", str(data), "--datasource", "sales", "--url", url, "--token", token
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    fired = actions(served, "run", action, "--wait")
    assert fired.returncode == 0, fired.stdout + fired.stderr
    assert fired.stdout.startswith("succeeded: run "), fired.stdout

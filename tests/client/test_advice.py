"""The service's advice as the CLI prints it: the flags of the same command (--force,
--on-invalid skip), never the REST form fields, against a real uvicorn."""

from __future__ import annotations

import json
from pathlib import Path

from backend.client.advice import in_cli_words, words
from backend.client.cli import parser
from backend.client.preview import confirm_body
from tests.client.test_cli import bad_sales_file, sales_ingest, served
from tests.factories import sales_csv

__all__ = ["served"]  # the fixture, used by name


def test_a_duplicate_and_invalid_rows_are_advised_with_the_clients_flags(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    base = ("--datasource", "sales", "--url", url, "--token", token)
    good = tmp_path / "good.csv"
    good.write_bytes(sales_csv(rows=10, seed=30))
    assert sales_ingest("upload", str(good), *base).returncode == 0

    again = sales_ingest("upload", str(good), *base)

    assert again.returncode == 0, again.stderr
    assert "already uploaded" in again.stderr
    assert "run the command again with --force" in again.stderr, again.stderr
    assert "force=true" not in again.stderr

    bad = sales_ingest("upload", str(bad_sales_file(tmp_path / "bad.csv")), *base)

    assert bad.returncode == 1
    assert "run the command again with --on-invalid skip" in bad.stdout, bad.stdout
    assert "on_invalid=skip" not in bad.stdout


def test_confirm_is_advised_with_its_own_flags_not_the_rest_fields(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    access = ("--url", url, "--token", token)
    good = tmp_path / "good.csv"
    good.write_bytes(sales_csv(rows=5, seed=31))
    loaded = sales_ingest("upload", str(good), "--datasource", "sales", "--json", *access)
    task_id = json.loads(loaded.stdout)["task_id"]

    not_a_preview = sales_ingest("confirm", task_id, *access)
    unknown = sales_ingest("confirm", "f" * 32, *access)
    asked_of_upload = sales_ingest(
        "upload", str(good), "--datasource", "sales", "--preview", "--day-first", *access
    )

    assert not_a_preview.returncode == 2
    assert "sales-ingest upload FILE --datasource NAME --preview" in not_a_preview.stderr
    assert "dry_run" not in not_a_preview.stderr
    assert unknown.returncode == 2
    assert "list tasks with sales-ingest tasks" in unknown.stderr
    assert "/api/" not in unknown.stderr
    assert asked_of_upload.returncode == 2
    assert "--day-first is not an upload option" in asked_of_upload.stderr
    assert "then sales-ingest confirm TASK --day-first" in asked_of_upload.stderr


def test_rest_words_are_said_as_the_flags_of_the_command() -> None:
    time_column = (
        "Choose one of: 'when', 'amount' (overrides.time_column). Keep it, or choose another "
        "time column (overrides.time_column) in the same request."
    )
    assert in_cli_words(time_column, "confirm") == (
        "Choose one of: 'when', 'amount' (--time-column). Keep it, or choose another time "
        "column (--time-column) in the same command."
    )
    fixed = "load the file into a new datasource (datasource_name) whose columns this file sets"
    assert "(--datasource)" in in_cli_words(fixed, "confirm")
    resend = "product: new column: re-send with evolve=add_columns (the column is added)"
    assert "run the command again with --evolve add_columns" in in_cli_words(resend, "upload")
    on_confirm = in_cli_words(resend, "confirm")
    assert "sales-ingest upload --preview --evolve add_columns" in on_confirm
    rows = "Fix the rows listed in the report (or download the rejected rows)."
    assert "--rejected" in in_cli_words(rows, "confirm")
    evolve = {"action": "evolve", "options": {"evolve": "add_columns"}}
    assert words(evolve, "upload") == (
        "To load it with the schema changed, run the command again with --evolve add_columns."
    )
    said = words(evolve, "confirm") or ""
    assert "run the command again" not in said
    assert "--preview --evolve add_columns, then confirm that preview" in said
    skip = {"action": "skip_invalid", "options": {"on_invalid": "skip"}}
    assert "run the command again with --on-invalid skip" in (words(skip, "confirm") or "")


def test_confirm_takes_on_invalid_and_rejected() -> None:
    args = parser().parse_args(["confirm", "t1", "--on-invalid", "skip", "--rejected", "r.csv"])

    assert confirm_body(args)["on_invalid"] == "skip"
    assert args.rejected == Path("r.csv")
    assert confirm_body(parser().parse_args(["confirm", "t1"]))["on_invalid"] is None

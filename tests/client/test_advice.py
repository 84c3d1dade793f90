"""The service's advice as the CLI prints it: the flags of the same command (--force,
--on-invalid skip), never the REST form fields, against a real uvicorn."""

from __future__ import annotations

from pathlib import Path

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

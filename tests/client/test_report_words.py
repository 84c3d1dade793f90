"""The CLI prints a bad file's report in the same words as the app and the rejected rows: the
check's sentence with its lines, a derived column's expected value on a line of its own."""

from __future__ import annotations

from pathlib import Path

from backend.client.output import problems
from tests.api.test_report_words import REASONS, TOTAL, bad_file
from tests.client.test_cli import sales_ingest, served

__all__ = ["served"]  # the fixture, used by name below


def test_the_cli_prints_the_reports_sentences(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    bad = tmp_path / "bad.csv"
    bad.write_bytes(bad_file())
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
    shown = done.stdout
    assert "  Quantity must be at least 1 (1 row): line 3 ('0')" in shown, shown
    assert "  Branch must be one of A, B, C (1 row): line 4 ('D')" in shown, shown
    assert "Date must look like 1/5/2019, 2019-01-05 or 2019-01-05 00:00:00 (1 row)" in shown
    assert "  Total must equal Quantity × Unit price + Tax 5% (1 row)" in shown, shown
    assert f"    line 6: {TOTAL}" in shown, shown
    assert "fails " not in shown and "greater_than" not in shown
    assert all(reason in rejected.read_text() for reason in REASONS)


def test_a_value_said_in_a_sentence_cannot_steer_the_terminal() -> None:
    # Before: a sample's sentence quoted the file's value raw ("the file has \x1b]0;...\x07"),
    # where the list of values before it printed them escaped (repr).
    said = "City should be Yangon (the city of its Branch); the file has \x1b]0;owned\x07\x1b[2J"
    check = {
        "column": "City\x1b[31m",
        "message": "City\x1b[31m must be the city of its Branch",
        "failed": 1,
        "samples": [{"row": 3, "value": "x", "message": said}],
    }

    lines = problems({"row_label": "line", "checks": [check]})

    assert not any(ch in line for line in lines for ch in "\x1b\x07"), lines
    assert "  line 3: City should be Yangon (the city of its Branch); the file has " in lines[1]
    assert "\\x1b]0;owned\\x07\\x1b[2J" in lines[1], lines

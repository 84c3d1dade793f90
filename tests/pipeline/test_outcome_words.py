"""The failure messages a user reads after a big upload: counts with grouped digits, one row
named as one."""

from __future__ import annotations

from backend.pipeline.options import UploadOptions
from backend.pipeline.outcome import policy_failure
from backend.pipeline.report import Report
from backend.pipeline.sources.base import SourceInfo

INFO = SourceInfo(format="csv", encoding="utf-8", delimiter=",", sheet=None, row_label="line")


def test_big_counts_are_grouped() -> None:
    report = Report(INFO, rows_read=850_000, rows_valid=849_000, rows_rejected=1_000)
    failure = policy_failure(report, UploadOptions())
    assert failure is not None
    assert failure.message.startswith("1,000 of 850,000 rows are invalid")


def test_no_valid_row() -> None:
    many = Report(INFO, rows_read=12_000, rows_valid=0, rows_rejected=12_000)
    one = Report(INFO, rows_read=1, rows_valid=0, rows_rejected=1)
    assert policy_failure(many, UploadOptions()).message == "none of the 12,000 rows is valid"  # type: ignore[union-attr]
    assert policy_failure(one, UploadOptions()).message == "the only row is not valid"  # type: ignore[union-attr]

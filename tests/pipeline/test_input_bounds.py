"""Inputs that would cost many times their size: a CSV line, a header line and a column name are
bounded on the file's bytes before any reader takes them, with a refusal that says which line or
column and the limit (MAX_LINE_BYTES, MAX_HEADER_BYTES, MAX_COLUMN_NAME_CHARS)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.pipeline.normalize import UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import DEFAULT_LIMITS, InputLimits, ReadError
from backend.pipeline.sources.bounds import Scanned, check_line_lengths
from tests.conftest import App
from tests.data.make_bad_files import HEADER, csv_text, rows
from tests.factories import upload, wait_for_task

ROOT = Path(__file__).resolve().parents[2]
# Runs normalize on one file in a fresh interpreter; prints its RSS before and its peak after
# (VmHWM: ru_maxrss would count the pytest process the child was forked from).
_MEASURE = """
import datetime as dt, json, re, sys, tempfile
from pathlib import Path
from backend.pipeline.normalize import UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources.base import ReadError

def kib(field):
    status = Path("/proc/self/status").read_text()
    return int(re.search(field + r":\\s+(\\d+)", status).group(1))

before = kib("VmRSS")
with tempfile.TemporaryDirectory() as tmp:
    try:
        normalize(Path(sys.argv[1]), FileFormat(sys.argv[2]), Path(tmp), datasource=sys.argv[3],
                  known_schema=None, options=UploadOptions(),
                  uploaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        said = ""
    except ReadError as exc:
        said = exc.message
print(json.dumps({"before_kib": before, "peak_kib": kib("VmHWM"), "said": said}))
"""


def peak_growth_mib(path: Path, file_format: str, datasource: str) -> tuple[float, str]:
    """How far the peak RSS of a process normalizing `path` rose above its RSS before (MiB)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), file_format, datasource],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return (answer["peak_kib"] - answer["before_kib"]) / 1024, answer["said"]


def read(path: Path, limits: InputLimits = DEFAULT_LIMITS, datasource: str = "things") -> None:
    workdir = path.parent / "work"
    workdir.mkdir(exist_ok=True)
    normalize(
        path,
        FileFormat.CSV,
        workdir,
        datasource=datasource,
        known_schema=None,
        options=UploadOptions(),
        uploaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        limits=limits,
    )


def test_a_50_mb_line_is_refused_before_a_reader_takes_it(tmp_path: Path) -> None:
    # Was loaded with one row rejected, at about 20 times the line in memory (988 MB peak).
    data = [list(r) for r in rows()]
    data[10][HEADER.index("Product line")] = "x" * (50 * 1024 * 1024)
    path = tmp_path / "long.csv"
    path.write_text(csv_text(data))

    growth, said = peak_growth_mib(path, "csv", "sales")

    assert said.startswith("line 12 is longer than 4 MB"), said
    assert growth < 120, f"peak RSS rose {growth:.0f} MiB for a 50 MB line"


def test_a_header_of_two_huge_column_names_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    # Was loaded (4.4 GB peak), and every answer listing columns then carried 60 MB.
    path = tmp_path / "names.csv"
    names = "when," + "A" * (30 * 1024 * 1024) + "," + "B" * (30 * 1024 * 1024)
    path.write_text(names + "\n2024-01-01,1,2\n")

    growth, said = peak_growth_mib(path, "csv", "things")

    assert said == "the header (the first line) is longer than 64 KB"
    assert growth < 120, f"peak RSS rose {growth:.0f} MiB"


@pytest.mark.parametrize("line_bytes", [64 * 1024, 100_000, 8 * 1024 * 1024 + 3])
def test_the_line_bound_finds_the_first_long_line_wherever_blocks_end(
    tmp_path: Path, line_bytes: int
) -> None:
    path = tmp_path / "lines.csv"
    short = b"a,b\n" * 3_000_000  # 12 MB of short lines: the long one starts in the second block
    path.write_bytes(short + b"x" * (line_bytes + 1) + b"\n" + short)
    with pytest.raises(ReadError, match="^line 3000001 is longer than"):
        check_line_lengths(path, line_bytes)
    path.write_bytes(short + b"x" * line_bytes + b"\n" + short)
    check_line_lengths(path, line_bytes)  # a line of exactly the limit is read
    path.write_bytes(b"x" * (line_bytes + 1))  # no line break at all
    with pytest.raises(ReadError, match="^line 1 is longer than"):
        check_line_lengths(path, line_bytes)


def test_the_line_bound_over_the_first_lines_stops_after_their_block(tmp_path: Path) -> None:
    # The one pass checks the lines of its sample first, the whole file meanwhile.
    path = tmp_path / "lines.csv"
    short = b"a,b\n" * 3_000_000  # 12 MB: the long line starts in the second block
    path.write_bytes(short + b"x" * 1001 + b"\n")
    assert check_line_lengths(path, 1000, first_lines=250_001) == Scanned(nul=False, quote=False)
    with pytest.raises(ReadError, match="^line 3000001 is longer than 1,000 bytes"):
        check_line_lengths(path, 1000, first_lines=2_500_000)  # its block is read too
    with pytest.raises(ReadError, match="^line 3000001 is longer than 1,000 bytes"):
        check_line_lengths(path, 1000)


def test_the_line_bound_says_whether_a_nul_or_a_quote_stands_in_what_it_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lines.csv"
    short = b"a,b\n" * 3_000_000
    path.write_bytes(short + b'a,\x00"\n' + short)
    assert check_line_lengths(path) == Scanned(nul=True, quote=True)
    assert check_line_lengths(path, first_lines=250_001) == Scanned(nul=False, quote=False)
    path.write_bytes(b"a,\x00\n" + short)
    assert check_line_lengths(path, first_lines=1) == Scanned(nul=True, quote=False)
    path.write_bytes(b'a,"b"\n' + short)
    assert check_line_lengths(path, first_lines=1) == Scanned(nul=False, quote=True)
    path.write_bytes(short * 2)
    assert check_line_lengths(path) == Scanned(nul=False, quote=False)


def test_the_bounds_follow_their_settings(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("when,amount\n2024-01-01," + "1" * 2000 + "\n")
    read(path)
    with pytest.raises(ReadError, match="^line 2 is longer than 1,000 bytes") as line:
        read(path, InputLimits(line_bytes=1000))
    assert "MAX_LINE_BYTES setting" in line.value.detail
    path.write_text("when," + "a" * 40 + "\n2024-01-01,1\n")
    with pytest.raises(ReadError, match="the name of column 2 .* is 40 characters long; at most"):
        read(path, InputLimits(column_name_chars=30))
    with pytest.raises(ReadError, match="^the header .* longer than 40 bytes") as header:
        read(path, InputLimits(header_bytes=40))
    assert "MAX_HEADER_BYTES setting" in header.value.detail


def test_a_quoted_header_name_with_a_line_break_is_read_within_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    body = "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 29)) * 10
    path.write_text('when,"amount\nin euros"\n' + body)
    read(path, InputLimits(header_bytes=1024))
    path.write_text('when,"amount ' + "x" * 2000 + '\nin euros"\n' + body)
    with pytest.raises(ReadError, match="header"):
        read(path, InputLimits(header_bytes=1024))


async def test_a_refused_header_leaves_no_datasource_behind(app: App) -> None:
    # Before, the file succeeded and GET /api/datasources answered the two names to everyone.
    content = ("when," + "A" * 300 + "," + "B" * 300 + "\n2024-01-01,1,2\n").encode()
    accepted = await upload(app.client, content=content, filename="n.csv", datasource="names")
    task = await wait_for_task(app.client, accepted.json()["task_id"])

    assert task["status"] == "failed", task
    assert task["error"]["code"] == "read_error"
    assert "at most 256 are allowed" in task["error"]["message"]
    assert "MAX" not in task["error"]["message"]
    listing = await app.client.get("/api/datasources")
    assert "names" not in listing.text and len(listing.content) < 10_000
    tasks = await app.client.get("/api/ingest/tasks")
    assert "A" * 100 not in tasks.text


@pytest.mark.parametrize("option", ["time_column", "sheet"])
async def test_a_name_given_with_the_upload_is_bounded_as_column_names_are(
    app: App, option: str
) -> None:
    # Was kept on the task (and in every task list); a column can never match it.
    response = await upload(
        app.client, content=b"when,a\n2024-01-01,1\n", extra={option: "w" * 10_000}
    )
    assert response.status_code == 422, response.text
    assert f"{option} is 10,000 characters long" in response.json()["error"]
    assert len(response.content) < 2000

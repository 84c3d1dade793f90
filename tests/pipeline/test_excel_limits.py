"""Workbooks that would take a worker's memory: what they inflate to is counted from their bytes
(never from the sizes their headers declare), and calamine reads them in a child process whose
address space is bounded, so the worst a workbook can do is fail its own upload."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from backend.pipeline.normalize import UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources import excel_child
from backend.pipeline.sources.base import ReadError
from backend.pipeline.sources.excel import MAX_PARTS, check_expansion, open_excel
from tests.conftest import App
from tests.data.make_bad_files import crafted_zip, far_cell_xlsx, huge_cell_xlsx, xls_bytes
from tests.factories import sales_csv, upload, wait_for_task, xlsx_bytes

LYING_DECLARED_BYTES = 4096
LYING_INFLATED_MB = 1536


@pytest.fixture(scope="module")
def lying_bomb() -> bytes:
    """1.5 GiB of sheet whose zip headers declare 4 KB (and the CRC of those 4 KB)."""
    return huge_cell_xlsx(LYING_INFLATED_MB, declared_size=LYING_DECLARED_BYTES)


def read(tmp_path: Path, content: bytes, file_format: FileFormat = FileFormat.XLSX) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    normalize(
        path,
        file_format,
        workdir,
        datasource="sheets",
        known_schema=None,
        options=UploadOptions(),
        uploaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def test_python_zipfile_believes_the_lying_headers(lying_bomb: bytes) -> None:
    # Why the count cannot rely on zipfile: read in blocks, a part ends at its declared size,
    # and the CRC (of that prefix) matches.
    with zipfile.ZipFile(io.BytesIO(lying_bomb)) as archive:
        with archive.open("xl/worksheets/sheet1.xml") as part:
            assert len(part.read(1024 * 1024)) == LYING_DECLARED_BYTES
            assert part.read(1024 * 1024) == b""


def test_a_zip_whose_headers_lie_is_refused_before_calamine_reads_it(
    tmp_path: Path, lying_bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were the reader to run, it would fail on memory with another message.
    monkeypatch.setattr(excel_child, "READ_MEMORY_BYTES", 1)
    with pytest.raises(ReadError, match="expands to more than 1024 MB when unpacked"):
        read(tmp_path, lying_bomb)


def test_counting_what_a_workbook_inflates_to_takes_little_memory(
    tmp_path: Path, lying_bomb: bytes
) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(lying_bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ReadError, match="expands to more than"):
            check_expansion(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def test_the_count_is_of_what_each_part_really_inflates_to(tmp_path: Path) -> None:
    path = tmp_path / "honest.xlsx"
    path.write_bytes(huge_cell_xlsx(20))  # headers tell the truth: 20 MB
    check_expansion(path, limit=21 * 1024 * 1024)
    with pytest.raises(ReadError, match="expands to more than 19 MB"):
        check_expansion(path, limit=19 * 1024 * 1024)
    path.write_bytes(huge_cell_xlsx(20, declared_size=100))  # the same bytes, a lying header
    with pytest.raises(ReadError, match="expands to more than 19 MB"):
        check_expansion(path, limit=19 * 1024 * 1024)


def test_a_workbook_compressed_with_an_unsupported_method_is_refused_by_name(
    tmp_path: Path,
) -> None:
    workbook = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows=[["a"], ["1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_LZMA) as archive:
        for name in workbook.namelist():
            archive.writestr(name, workbook.read(name))
    with pytest.raises(ReadError, match="compressed with LZMA, which is not supported"):
        read(tmp_path, buffer.getvalue())


def test_a_workbook_of_too_many_parts_is_refused(tmp_path: Path) -> None:
    workbook = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows=[["a"], ["1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in workbook.namelist():
            archive.writestr(name, workbook.read(name))
        for number in range(MAX_PARTS):
            archive.writestr(f"xl/media/p{number}", b"")
    with pytest.raises(ReadError, match=f"parts; at most {MAX_PARTS} are read"):
        read(tmp_path, buffer.getvalue())


def test_a_part_whose_data_is_not_deflate_is_damaged(tmp_path: Path) -> None:
    data = b"<?xml version='1.0'?><workbook/>"
    garbage = b"\xff" * 64  # the first block has the reserved type 3
    workbook = crafted_zip([("xl/workbook.xml", garbage, zlib.crc32(data), len(data))])
    with pytest.raises(ReadError, match="damaged"):
        read(tmp_path, workbook)


def test_a_workbook_stored_without_compression_is_read(tmp_path: Path) -> None:
    workbook = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows=[["a"], ["1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in workbook.namelist():
            archive.writestr(name, workbook.read(name))
    read(tmp_path, buffer.getvalue())


@pytest.mark.parametrize(
    ("content", "file_format"),
    [
        (far_cell_xlsx("ZZ200000"), FileFormat.XLSX),  # read in-process: 7 GB of memory
        (far_cell_xlsx("XFD1048576"), FileFormat.XLSX),  # in-process: the process aborts
        (xls_bytes(["a", "1"], far_cell=True), FileFormat.XLS),  # in-process: aborts
    ],
    ids=["xlsx_7_gb", "xlsx_17_billion_cells", "xls_4_billion_cells"],
)
def test_a_small_workbook_that_needs_too_much_memory_fails_with_a_clear_message(
    tmp_path: Path, content: bytes, file_format: FileFormat
) -> None:
    assert len(content) < 8192
    with pytest.raises(ReadError, match="needs more memory to read than allowed") as refused:
        read(tmp_path, content, file_format)
    assert "CSV" in refused.value.detail and "split" in refused.value.detail


def test_the_memory_allowance_is_what_the_reader_may_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = huge_cell_xlsx(100)  # honest headers, well within the expansion limit
    monkeypatch.setattr(excel_child, "READ_MEMORY_BYTES", 64 * 1024 * 1024)
    with pytest.raises(ReadError, match=r"needs more memory to read than allowed \(64 MB\)"):
        read(tmp_path, workbook)


def test_a_read_that_takes_too_long_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(excel_child, "READ_SECONDS", 0.001)  # less than any read takes
    with pytest.raises(ReadError, match="took more than 0.001 seconds to read"):
        read(tmp_path, xlsx_bytes(rows=[["a"], ["1"]]))


def test_a_valid_xls_is_read_through_the_child(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xls"
    path.write_bytes(xls_bytes(["name", "x", "y"]))
    source = open_excel(path, "xls", None, tmp_path)
    assert source.header == ["name"] and source.info.sheet == "Sheet1"
    assert [b["name"].to_list() for b in source.batches()] == [["x", "y"]]


async def test_an_upload_of_the_lying_zip_fails_as_a_read_error(
    app: App, lying_bomb: bytes
) -> None:
    accepted = await upload(app.client, content=lying_bomb, filename="bomb.xlsx")
    assert accepted.status_code == 202, accepted.text
    task = await wait_for_task(app.client, accepted.json()["task_id"], timeout=120)
    assert task["status"] == "failed"
    assert task["error"]["code"] == "read_error"
    assert "expands to more than 1024 MB" in task["error"]["message"]


async def test_a_workbook_over_the_memory_limit_fails_its_upload_and_the_worker_goes_on(
    app: App,
) -> None:
    accepted = await upload(app.client, content=far_cell_xlsx("XFD1048576"), filename="far.xlsx")
    task = await wait_for_task(app.client, accepted.json()["task_id"], timeout=120)
    assert task["status"] == "failed" and task["error"]["code"] == "read_error"
    assert "needs more memory to read than allowed" in task["error"]["message"]
    assert "export the sheet as csv" in task["error"]["detail"].lower()

    after = await upload(app.client, content=sales_csv(rows=5))
    assert (await wait_for_task(app.client, after.json()["task_id"]))["status"] == "succeeded"

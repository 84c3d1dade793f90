"""The Excel reader started ahead of need (excel_child.SPARES): each waiting child reads one
workbook and is gone, the next one is waiting after the read, a dead one is replaced, the one
left at exit is ended, and a spare is bounded like a child started for the read."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from backend.pipeline import normalize as normalize_module
from backend.pipeline.normalize import UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
from backend.pipeline.sources import excel_child
from backend.pipeline.sources.base import ReadError
from backend.pipeline.sources.excel import open_excel
from tests.data.make_bad_files import far_cell_xlsx
from tests.factories import xlsx_bytes

ROOT = Path(__file__).resolve().parents[2]


def workbook(tmp_path: Path, rows: list[list[str]], name: str = "sheet.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(xlsx_bytes(rows=rows))
    return path


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


def test_each_spare_reads_one_workbook_and_the_next_is_waiting_after(tmp_path: Path) -> None:
    first = open_excel(workbook(tmp_path, [["a"], ["1"]]), "xlsx", None, tmp_path)
    spare = excel_child.SPARES.waiting()
    assert spare is not None and alive(spare)

    second = open_excel(workbook(tmp_path, [["b"], ["2"]]), "xlsx", None, tmp_path)

    assert first.header == ["a"] and second.header == ["b"]
    assert [b["b"].to_list() for b in second.batches()] == [[2]]
    assert not alive(spare)  # it read the second workbook and exited
    following = excel_child.SPARES.waiting()
    assert following is not None and following != spare and alive(following)


def test_a_spare_that_died_is_replaced_and_the_read_succeeds(tmp_path: Path) -> None:
    excel_child.SPARES.replenish()
    spare = excel_child.SPARES.waiting()
    assert spare is not None
    os.kill(spare, 9)
    time.sleep(0.2)

    source = open_excel(workbook(tmp_path, [["a"], ["x"]]), "xlsx", None, tmp_path)

    assert [b["a"].to_list() for b in source.batches()] == [["x"]]
    assert excel_child.SPARES.waiting() not in (None, spare)


def test_a_waiting_spare_is_bounded_like_a_child_started_for_the_read(tmp_path: Path) -> None:
    excel_child.SPARES.replenish()
    time.sleep(1)  # its imports are done: it waits for its request
    path = tmp_path / "far.xlsx"
    path.write_bytes(far_cell_xlsx("XFD1048576"))
    with pytest.raises(ReadError, match="needs more memory to read than allowed") as refused:
        open_excel(path, "xlsx", None, tmp_path)
    assert "split" in refused.value.detail
    # The worker goes on reading with the next spare.
    source = open_excel(workbook(tmp_path, [["a"], ["y"]]), "xlsx", None, tmp_path)
    assert [b["a"].to_list() for b in source.batches()] == [["y"]]


def test_the_spare_left_at_exit_is_ended(tmp_path: Path) -> None:
    script = (
        "from pathlib import Path\n"
        "from backend.pipeline.sources import excel_child\n"
        "from backend.pipeline.sources.excel import open_excel\n"
        f"open_excel(Path({str(workbook(tmp_path, [['a'], ['1']]))!r}), 'xlsx', None, "
        f"Path({str(tmp_path)!r}))\n"
        "print(excel_child.SPARES.waiting())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    spare = int(done.stdout.strip())
    deadline = time.monotonic() + 10
    while alive(spare) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(spare)


def test_a_spare_whose_worker_was_killed_ends_too() -> None:
    script = (
        "import os, signal, time\n"
        "from backend.pipeline.sources import excel_child\n"
        "excel_child.SPARES.replenish()\n"
        "print(excel_child.SPARES.waiting(), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)  # no clean-up runs\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -9
    spare = int(done.stdout.strip())
    deadline = time.monotonic() + 20
    while alive(spare) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(spare)


def test_an_upload_starts_the_next_reader_once_its_sheet_is_loaded(tmp_path: Path) -> None:
    """normalize() takes the waiting reader and starts the next only after the sheet's pass
    (started at once, it competed with the pass for the CPU)."""
    excel_child.SPARES.replenish()
    spare = excel_child.SPARES.waiting()
    events: list[str] = []
    replenish, one_pass = excel_child.SPARES.replenish, normalize_module.load_clean_sheet

    def load_clean_sheet(*args: Any, **kwargs: Any) -> Any:
        events.append("pass")
        return one_pass(*args, **kwargs)

    path = workbook(tmp_path, [["Name", "Amount"], ["a", "1"], ["b", "2"]])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(excel_child.SPARES, "replenish", lambda: events.append("next reader"))
        patch.setattr(normalize_module, "load_clean_sheet", load_clean_sheet)
        outcome = normalize(
            path,
            FileFormat.XLSX,
            tmp_path,
            datasource="amounts",
            known_schema=None,
            options=UploadOptions(),
            uploaded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
    assert outcome.report is not None and outcome.report.rows_valid == 2
    assert events == ["pass", "next reader"]
    assert excel_child.SPARES.waiting() is None  # the spare read it: the next starts now
    replenish()
    following = excel_child.SPARES.waiting()
    assert following is not None and following != spare and alive(following)

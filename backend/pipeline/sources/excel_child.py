"""Reading one sheet with calamine (fastexcel) in a child process whose address space is bounded.

calamine holds a whole sheet in memory, and how much a workbook needs is only known once it is
read (a zip whose headers lie about its sizes, a huge shared-strings table in an .xls). Read in a
child with RLIMIT_AS set, a workbook that needs too much memory ends the child, never the worker.
The sheet comes back as an Arrow IPC file in the task's workdir (its rows below the header:
numbers as numbers, every other cell as the text the sheet shows, see excel_cells); the answer
is one JSON line with the header.

    python -m backend.pipeline.sources.excel_child      # then one line on its standard input:
    {"path": ..., "sheet": ..., "target": ..., "memory_bytes": ...}
    {"rare_cells": true}                                 # and a second one, when known

The second line tells what the parent learnt while the child read: whether the sheet may hold a
boolean cell or a date written as ISO text (see excel_cells._read_again; without it, or without a line, the
child assumes it may).

A fresh interpreter (not a fork: the worker runs threads and an event loop) spends a few tenths
of a second starting and importing Polars. So the process keeps one child started ahead of need
(`SPARES`): its imports done, it waits for its one request, then sets its memory bound, reads
exactly one workbook and exits; the next one is started as soon as that read is over. A spare
that has died is replaced; one that hangs is stopped by the read's timeout like any other; the
spare left at exit is ended, and one whose parent is gone sees its standard input close and exits.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import resource
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from backend.pipeline.sources.base import ReadError
from backend.pipeline.sources.excel_cells import DAMAGED_HINT, read_sheet
from backend.units import format_bytes

log = logging.getLogger(__name__)

# The most an .xlsx may unpack to (counted in excel.py before the read).
MAX_EXPANDED_BYTES = 1024 * 1024 * 1024
# What the read may map on top of the interpreter and its libraries, derived from that bound so
# that a workbook within it can be read. calamine maps about 3 times the sheet's unpacked XML at
# peak (measured: a 1M-row, 17-column sales sheet of 750 MiB failed at 2 GiB and was read at
# 2.5 GiB, peak RSS 1.5 GB; one of 150k rows, 111 MiB, failed at 2x and was read at 4x).
MEMORY_PER_EXPANDED_BYTE = 4
READ_MEMORY_BYTES = MEMORY_PER_EXPANDED_BYTE * MAX_EXPANDED_BYTES
MEMORY_EXIT = 3  # the child's exit status when the read ran out of memory
READ_SECONDS: float = 600  # far more than a sheet within the limits takes (a 150 MB sheet: 4 s)
# The child parses untrusted bytes with native code: it gets no credentials, only these.
_INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH")
_MODULE = "backend.pipeline.sources.excel_child"
_SPLIT_HINT = (
    "Export the sheet as CSV (read in batches, with no such limit), or split the workbook "
    "into smaller ones."
)


@dataclass(frozen=True)
class Grid:
    header: list[str]  # the sheet's first row as written (empty cells as "")
    frame: pl.DataFrame  # the rows below it: see as_loaded
    index: int  # of the sheet, from 0
    sheet: str


def read_grid(
    path: Path,
    sheet: str | None,
    target: Path,
    meanwhile: Callable[[], bool] | None = None,
    replenish: bool = True,
) -> Grid:
    """Read the sheet in a child process (blocking); ReadError for anything it cannot read.
    `meanwhile` runs here while the child reads (the child is ended if it raises) and says
    whether the sheet may hold a boolean cell (without it, it may). `replenish` False: the
    caller starts the next spare (SPARES.replenish) once its own work on the sheet is done, so
    that the spare's start does not take CPU from that work."""
    request = {
        "path": str(path),
        "sheet": sheet,
        "target": str(target),
        "memory_bytes": READ_MEMORY_BYTES,
    }
    child = SPARES.take()
    try:
        _while_reading(child, request, meanwhile or (lambda: True))
        stdout, stderr = child.communicate(None, timeout=READ_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise ReadError(
            f"the workbook took more than {READ_SECONDS:g} seconds to read", _SPLIT_HINT
        ) from None
    finally:
        if replenish:
            SPARES.replenish()
    answer = stdout.decode().strip().splitlines()
    if child.returncode != 0 or not answer:
        raise _reader_failed(child.returncode, stderr)
    result: dict[str, Any] = json.loads(answer[-1])
    if "error" in result:
        raise ReadError(result["error"], result["detail"])
    header = [str(name) for name in result["header"]]
    return Grid(header, pl.read_ipc(target), int(result["index"]), str(result["sheet"]))


def _while_reading(
    child: subprocess.Popen[bytes], request: dict[str, Any], meanwhile: Callable[[], bool]
) -> None:
    """Send the request (one line: the child reads it at once), run `meanwhile`, send what it
    found (the child reads it once it needs it)."""
    _send(child, request)
    try:
        rare_cells = meanwhile()
    except BaseException:
        child.kill()
        child.communicate()
        raise
    _send(child, {"rare_cells": rare_cells})


def _send(child: subprocess.Popen[bytes], line: dict[str, Any]) -> None:
    assert child.stdin is not None
    try:
        child.stdin.write(json.dumps(line).encode() + b"\n")
        child.stdin.flush()
    except BrokenPipeError:
        pass  # the child has ended: communicate() reports how


def _start_child() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-P", "-m", _MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_environment(),
    )


class Spares:
    """At most one reader process started ahead of need, each used for one workbook."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: subprocess.Popen[bytes] | None = None
        self._closed = False

    def take(self) -> subprocess.Popen[bytes]:
        """The waiting spare if it is alive, else a child started now."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            return spare
        if spare is not None:
            _reap(spare)
            log.warning("the waiting Excel reader had ended (status %s)", spare.returncode)
        return _start_child()

    def replenish(self) -> None:
        """Start the next spare unless one is waiting (or the process is exiting)."""
        with self._lock:
            if self._closed or (self._spare is not None and self._spare.poll() is None):
                return
            if self._spare is not None:
                _reap(self._spare)
            self._spare = _start_child()

    def close(self) -> None:
        """End the waiting spare (at exit; a later read starts a child of its own)."""
        with self._lock:
            spare, self._spare = self._spare, None
            self._closed = True
        if spare is not None:
            spare.kill()
            _reap(spare)

    def waiting(self) -> int | None:
        """The process id of the spare waiting now, if any."""
        with self._lock:
            return None if self._spare is None else self._spare.pid


def _reap(child: subprocess.Popen[bytes]) -> None:
    child.communicate()


SPARES = Spares()
atexit.register(SPARES.close)


def _child_environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k in _INHERITED}
    root = str(Path(__file__).resolve().parents[3])  # where the backend package is
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, environment.get("PYTHONPATH")) if p
    )
    # Every thread reserves address space (its stack, a malloc arena): with one Polars thread
    # and two arenas the child maps about 300 MB before reading, whatever the machine's cores.
    environment["POLARS_MAX_THREADS"] = "1"
    environment["MALLOC_ARENA_MAX"] = "2"
    environment["RUST_BACKTRACE"] = "0"  # an allocation failure says enough in one line
    return environment


def _reader_failed(status: int, stderr: bytes) -> ReadError:
    detail = stderr.decode("utf-8", "replace").strip()[:2000]
    log.warning("the Excel reader process ended with status %s: %s", status, detail)
    if status < 0 or status == MEMORY_EXIT or "MemoryError" in detail:
        return ReadError(
            "the workbook needs more memory to read than allowed "
            f"({format_bytes(READ_MEMORY_BYTES)})",
            _SPLIT_HINT,
        )
    return ReadError(
        f"the workbook cannot be read (the reader stopped with status {status})", DAMAGED_HINT
    )


def _mapped_bytes() -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmSize:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else None


def limit_address_space(extra: int) -> None:
    """Let the process map at most `extra` bytes more than it maps now (Linux; elsewhere the
    read is not bounded)."""
    mapped = _mapped_bytes()
    if mapped is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = mapped + extra if hard == resource.RLIM_INFINITY else min(mapped + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def main(argv: list[str]) -> int:
    line = argv[1] if len(argv) > 1 else sys.stdin.readline()
    if not line.strip():  # the parent ended before sending a request
        return 0
    request = json.loads(line)
    limit_address_space(int(request["memory_bytes"]))
    try:
        # The parent's facts follow a request read from standard input.
        facts = _rare_cells if len(argv) <= 1 else lambda: True
        answer = read_sheet(Path(request["path"]), request["sheet"], Path(request["target"]), facts)
    except MemoryError:
        return MEMORY_EXIT
    except ReadError as exc:
        answer = {"error": exc.message, "detail": exc.detail}
    print(json.dumps(answer))
    return 0


def _rare_cells() -> bool:
    """The parent's second line: whether the sheet may hold a boolean or an ISO date cell (yes
    if unknown)."""
    try:
        return bool(json.loads(sys.stdin.readline()).get("rare_cells", True))
    except (ValueError, AttributeError):
        return True


if __name__ == "__main__":
    sys.exit(main(sys.argv))

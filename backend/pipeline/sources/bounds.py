"""Bounds checked on a CSV's bytes before a reader takes the lines they cover: the longest line,
and lines that end in a carriage return alone. One read in blocks of BLOCK_BYTES, whatever the
lines; it also tells whether the bytes hold a NUL or a double quote."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from backend.pipeline.sources.base import DEFAULT_LIMITS, ReadError

BLOCK_BYTES = 8 * 1024 * 1024
_LONE_CR = re.compile(rb"\r(?!\n)")


def size_text(count: int) -> str:
    if count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MB"
    if count % 1024 == 0:
        return f"{count // 1024} KB"
    return f"{count:,} bytes"


@dataclass(frozen=True)
class Scanned:
    """What the bytes read by check_line_lengths hold."""

    nul: bool  # a NUL byte
    quote: bool  # a double quote: a quoted value may hold line breaks


def check_line_lengths(
    path: Path, max_bytes: int = DEFAULT_LIMITS.line_bytes, *, first_lines: int | None = None
) -> Scanned:
    """Refuses a file with a physical line longer than `max_bytes` (line break excluded), or
    with lines ending in a carriage return alone, in one bounded read of its bytes; says whether
    those bytes hold a NUL byte or a double quote (a memchr each per block).

    `first_lines`: stop after the block in which that many line breaks were read (those lines
    are checked, and any that follow in the same block).

    From the start of each line, the next max_bytes + 1 bytes must hold a line break; the search
    jumps to the last one among them, so a file of short lines costs about one memrchr per
    `max_bytes`, not one step per line."""
    carry = 0  # bytes of the current line in earlier blocks
    offset = 0  # of the block in the file
    breaks = 0  # line breaks read, counted only with first_lines
    nul = quote = False
    endings = _LineEndings(path)
    with path.open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            endings.feed(block, offset)
            if endings.first >= 0:
                raise endings.error()
            nul = nul or b"\x00" in block
            quote = quote or b'"' in block
            start = 0
            while True:
                end = start + (max_bytes - carry) + 1
                found = block.rfind(b"\n", start, end)
                if found >= 0:
                    carry, start = 0, found + 1
                    continue
                if end <= len(block):
                    raise _line_too_long(path, offset + start - carry, max_bytes)
                carry += len(block) - start
                break
            offset += len(block)
            if first_lines is not None:
                breaks += block.count(b"\n")
                if breaks >= first_lines:
                    return Scanned(nul, quote)
    # A CR ending the file ends its last line: nothing follows to merge with.
    return Scanned(nul, quote)


class _LineEndings:
    """Finds a carriage return that is not followed by a line feed and is outside quoted values
    (an even count of quotes before it). The reader splits lines at LF only, so lines ending in
    CR alone are merged with the next: a Mac export whose quoted cells hold line feeds, or a
    file of CRLF lines then CR lines, slipped past a check of the first lines.

    Quotes are counted only from the first block with a lone CR (most files have none: a block
    then costs one memchr, or one regex scan for CRLF files)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first = -1  # offset of the first lone CR outside quotes
        self._quotes: int | None = None  # quote characters before the current block
        self._pending = -1  # offset of such a CR ending the previous block (an LF may follow)

    def feed(self, block: bytes, offset: int) -> None:
        if self._pending >= 0 and not block.startswith(b"\n"):
            self.first = self._pending
            return
        self._pending = -1
        if self._quotes is None:
            if b"\r" not in block or _LONE_CR.search(block) is None:
                return
            self._quotes = _count_before(self.path, offset, b'"')
        position, quotes = 0, self._quotes
        for found in _LONE_CR.finditer(block):
            quotes += block.count(b'"', position, found.start())
            position = found.start()
            if quotes % 2:
                continue  # inside a quoted value: data
            if position < len(block) - 1:
                self.first = offset + position
                return
            self._pending = offset + position
        self._quotes = quotes + block.count(b'"', position)

    def error(self) -> ReadError:
        return ReadError(
            f"line {line_at(self.path, self.first)} ends with a carriage return alone (the old "
            "Mac OS line ending), which would merge it with the next line",
            "Save the file again as CSV with Windows (CRLF) or Unix (LF) line endings.",
        )


def _count_before(path: Path, position: int, byte: bytes) -> int:
    """How many times `byte` stands in the file before `position`, read in bounded blocks."""
    count = 0
    with path.open("rb") as handle:
        while position > 0:
            block = handle.read(min(BLOCK_BYTES, position))
            count += block.count(byte)
            position -= len(block)
    return count


def line_at(path: Path, position: int) -> int:
    """The 1-based line holding the byte at `position`."""
    return 1 + _count_before(path, position, b"\n")


def _line_too_long(path: Path, line_start: int, max_bytes: int) -> ReadError:
    return ReadError(
        f"line {line_at(path, line_start)} is longer than {size_text(max_bytes)}, the most a line "
        "may hold",
        "Check that the file's lines end with line breaks, and shorten the long values (or "
        "leave them out); the limit is the MAX_LINE_BYTES setting "
        f"({max_bytes:,} bytes).",
    )

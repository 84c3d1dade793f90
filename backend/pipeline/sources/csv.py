"""CSV/TSV source: encoding, delimiter, header, and rows with the line numbers a user sees.

Three passes, each streaming:
1. bytes: pick the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else cp1252 / latin-1),
   refuse NUL bytes, and transcode to UTF-8 when needed;
2. lines (Polars, one string per physical line): how many fields each line has, so ragged rows
   are caught exactly (Polars alone pads short rows and cannot tell "a,b" from "a,b,");
3. records (Polars, every value as text, in batches): values, with each record's first line
   number derived from the newlines inside its quoted fields.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from backend.pipeline.sniff import SNIFF_BYTES, utf16_without_bom
from backend.pipeline.sources.base import (
    DEFAULT_LIMITS,
    PROBLEM,
    ROW,
    InputLimits,
    ReadError,
    SourceInfo,
    check_header,
)
from backend.pipeline.sources.bounds import check_line_lengths, line_at, size_text

BLOCK_BYTES = 8 * 1024 * 1024
SNIFF_CHARS = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
BATCH_ROWS = 250_000
# A physical-line reader needs a separator that never occurs in the file.
_LINE_SEPARATORS = ("\x1f", "\x1e", "\x1d", "\x1c", "\x07")
# A quoted field, with "" as an escaped quote inside it.
_QUOTED = r'"(?:[^"]|"")*"'
_SENTINEL = "\ue000\n"  # a private-use character: never in a header


@dataclass
class _Scan:
    decodes: bool
    separators_seen: set[int]
    has_quotes: bool


def _decode_check(path: Path, encoding: str) -> _Scan:
    """Whether the whole file decodes; also which candidate line-separator bytes occur in it.

    Refuses NUL bytes (binary data) with the line they are on.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    seen: set[int] = set()
    quotes = False
    with path.open("rb") as handle:
        offset = 0
        while block := handle.read(BLOCK_BYTES):
            quotes = quotes or b'"' in block
            if b"\x00" in block:
                _refuse_nul(path, offset + block.index(b"\x00"))
            if ord(_LINE_SEPARATORS[0]) not in seen and _LINE_SEPARATORS[0].encode() in block:
                seen.update(ord(c) for c in _LINE_SEPARATORS if c.encode() in block)
            offset += len(block)
            if block.isascii() and not decoder.getstate()[0]:
                continue  # ASCII is valid in every candidate encoding; skip the slower decode
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return _Scan(False, seen, quotes)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _Scan(False, seen, quotes)
    return _Scan(True, seen, quotes)


def _refuse_nul(path: Path, position: int) -> None:
    raise ReadError(
        f"the file contains a NUL byte on line {line_at(path, position)}: it looks like binary data, not text",
        "Export the data again as a plain-text CSV.",
    )


def _transcode(source: Path, target: Path, encoding: str, skip: int) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
        src.seek(skip)
        while block := src.read(BLOCK_BYTES):
            out.write(decoder.decode(block))
        out.write(decoder.decode(b"", final=True))


def _absent(seen: set[int]) -> str:
    for candidate in _LINE_SEPARATORS:
        if ord(candidate) not in seen:
            return candidate
    raise ReadError(
        "the file contains every control character this reader can use to split lines",
        "Export the data again as a plain-text CSV.",
    )


@dataclass
class _Prepared:
    path: Path  # UTF-8 without BOM
    encoding: str
    scan: _Scan

    @property
    def absent_byte(self) -> str:
        return _absent(self.scan.separators_seen)


def prepare(path: Path, workdir: Path) -> _Prepared:
    with path.open("rb") as handle:
        head = handle.read(4)
    target = workdir / "utf8.csv"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            _transcode(path, target, "utf-16", 0)
        except UnicodeDecodeError as exc:
            raise ReadError(
                f"the file starts with a UTF-16 byte order mark but is not valid UTF-16: {exc}",
                "Save the file again as UTF-8 or UTF-16.",
            ) from exc
        return _Prepared(target, "utf-16", _decode_check(target, "utf-8"))
    with path.open("rb") as handle:
        utf16 = utf16_without_bom(handle.read(SNIFF_BYTES))
    if utf16 is not None:
        return _from_utf16(path, target, utf16)
    scan = _decode_check(path, "utf-8")
    if scan.decodes and not head.startswith(codecs.BOM_UTF8):
        return _Prepared(path, "utf-8", scan)
    if scan.decodes:
        _transcode(path, target, "utf-8", len(codecs.BOM_UTF8))
        return _Prepared(target, "utf-8-sig", scan)
    encoding = "cp1252" if _decode_check(path, "cp1252").decodes else "latin-1"
    _transcode(path, target, encoding, 0)
    return _Prepared(target, encoding, _decode_check(target, "utf-8"))


def _from_utf16(path: Path, target: Path, encoding: str) -> _Prepared:
    """UTF-16 without a byte order mark (recognised by its NUL bytes), transcoded to UTF-8: as
    cheap as the BOM case, and safe since the whole file must decode."""
    try:
        _transcode(path, target, encoding, 0)
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"the file looks like UTF-16 text without a byte order mark, but is not valid "
            f"UTF-16: {exc.reason} at byte {exc.start}",
            "Save the file again as UTF-8 (CSV UTF-8 in Excel).",
        ) from exc
    return _Prepared(target, encoding, _decode_check(target, "utf-8"))


def read_head(path: Path) -> str:
    with path.open("r", encoding="utf-8", newline="") as handle:
        return handle.read(SNIFF_CHARS)


def sniff_delimiter(head: str) -> str:
    """The candidate that splits the first lines into the same number (>1) of fields most often."""
    lines = head.splitlines(keepends=True)
    if len(lines) > 1 and len(head) >= SNIFF_CHARS:
        lines = lines[:-1]  # the last line may be cut off
    sample = "".join(lines[:200])
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:  # newline="": a carriage return inside a quoted field is data, not a line end
            rows = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
            counts = [len(r) for r in rows if r]
        except csv.Error:
            continue  # this delimiter does not make sense of the sample
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = (round(consistent, 2), counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_header(
    path: Path, delimiter: str, max_bytes: int = DEFAULT_LIMITS.header_bytes
) -> list[str]:
    """The first record's fields, read from at most `max_bytes` bytes of the file."""
    head = read_head(path)
    if "\r" in head and "\n" not in head:
        # The reader splits lines at LF (CRLF too): lines ending in CR alone are one long line.
        raise _lone_cr()
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    cut = len(raw) > max_bytes
    if cut:  # only whole lines, so that a character is not cut in two
        raw = raw[: raw.rfind(b"\n", 0, max_bytes + 1) + 1]
    try:
        # After a cut, a sentinel line: a header record that does not end within the bytes read
        # takes it into its last field.
        text = raw.decode("utf-8") + (_SENTINEL if cut else "")
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    except csv.Error as exc:
        raise ReadError(
            f"the header row cannot be read: {exc}", "Check the first line of the file."
        ) from exc
    if cut and (header is None or _SENTINEL.strip() in header[-1]):
        raise ReadError(
            f"the header (the first line) is longer than {size_text(max_bytes)}",
            "Check that the first line holds the column names and ends with a line break; "
            f"the limit is the MAX_HEADER_BYTES setting ({max_bytes:,} bytes).",
        )
    if not header or not any(h.strip() for h in header):
        raise ReadError(
            "the first line (the header) is empty", "Put the column names on the first line."
        )
    return header


def _lone_cr() -> ReadError:
    return ReadError(
        "the lines end with a carriage return alone (the old Mac OS line ending), which is "
        "not read",
        "Save the file again as CSV with Windows (CRLF) or Unix (LF) line endings.",
    )


def line_field_counts(path: Path, delimiter: str, separator: str) -> pl.DataFrame:
    """Per physical line: fields on it (quoted parts removed) and whether it is blank."""
    lines = pl.scan_csv(
        path,
        has_header=False,
        separator=separator,
        quote_char=None,
        schema={"line": pl.String},
        empty_string_is_null=False,
        missing_columns="insert",
    )
    text = pl.col("line").fill_null("").str.strip_chars_end("\r")
    unquoted = (
        pl.when(text.str.contains('"', literal=True))
        .then(text.str.replace_all(_QUOTED, ""))
        .otherwise(text)
    )
    counted = lines.select(
        (unquoted.str.count_matches(delimiter, literal=True) + 1).cast(pl.UInt32).alias("fields"),
        (text.str.len_bytes() == 0).alias("blank"),
        text.str.count_matches('"', literal=True).alias("quotes"),
    ).collect()
    _check_quotes_close(counted["quotes"])
    return counted.drop("quotes")


def _check_quotes_close(quotes: pl.Series) -> None:
    open_after = (quotes.cum_sum() % 2) == 1
    if open_after.is_empty() or not open_after[-1]:
        return
    closed_before = open_after.not_().arg_true()
    line = int(closed_before[-1]) + 2 if closed_before.len() else 1
    raise ReadError(
        f'a quoted field opened on line {line} is never closed (a " without its closing ")',
        'Close the quote, or double the quote character inside quoted fields ("").',
    )


@dataclass
class CsvSource:
    """Rows with line numbers. The per-line field count (a second read of the file) is taken when
    the file has quoted fields or its delimiters do not add up to the header's width on every
    line, or as soon as a row looks ragged (a value past the header's width, an empty last
    column). Clean files skip it."""

    info: SourceInfo
    header: list[str]
    _prepared: _Prepared
    _delimiter: str
    _lines: pl.DataFrame | None = None

    def _line_counts(self) -> pl.DataFrame:
        if self._lines is None:
            self._lines = line_field_counts(
                self._prepared.path, self._delimiter, self._prepared.absent_byte
            )
        return self._lines

    def batches(self) -> Iterator[pl.DataFrame]:
        width = len(self.header)
        names = [f"c{i}" for i in range(width)]
        reader = pl.scan_csv(
            self._prepared.path,
            has_header=False,
            separator=self._delimiter,
            schema=dict.fromkeys([*names, "__extra"], pl.String),
            empty_string_is_null=False,
            missing_columns="insert",
            truncate_ragged_lines=True,
            infer_schema=False,
        )
        record, line = 0, 0  # line: 0-based physical line of the next record
        try:
            for batch in reader.collect_batches(chunk_size=BATCH_ROWS):
                extra = self._newlines(batch, names)
                first_line = (
                    line + pl.int_range(0, batch.height, eager=True) + (extra.cum_sum() - extra)
                )
                line = int(first_line[-1] + extra[-1] + 1) if batch.height else line
                out = self._annotate(batch, first_line, extra, names)
                if record == 0:
                    out = out.slice(1)  # the header record
                record += batch.height
                yield out.drop("__extra").rename(dict(zip(names, self.header, strict=True)))
        except pl.exceptions.ComputeError:
            self._line_counts()  # names the line of an unclosed quote, when that is the cause
            raise

    def _newlines(self, batch: pl.DataFrame, names: list[str]) -> pl.Series:
        """Line breaks inside each record's quoted values (a file without quotes has none)."""
        if not self._prepared.scan.has_quotes:
            return pl.zeros(batch.height, pl.Int64, eager=True)
        count = pl.sum_horizontal(pl.col(names).str.count_matches("\n", literal=True))
        return batch.select(count.fill_null(0).cast(pl.Int64)).to_series()

    def _annotate(
        self, batch: pl.DataFrame, first_line: pl.Series, extra: pl.Series, names: list[str]
    ) -> pl.DataFrame:
        width = len(names)
        row_number = (pl.lit(first_line) + 1).cast(pl.Int64).alias(ROW)
        suspicious = (pl.col("__extra").fill_null("") != "") | (
            pl.col(names[-1]).fill_null("") == ""
        )
        if self._lines is None and not batch.select(suspicious.any()).item():
            return batch.with_columns(row_number, pl.lit(None, pl.String).alias(PROBLEM))
        lines = self._line_counts()
        line_fields = lines["fields"].gather(first_line)
        single = extra == 0
        is_blank = lines["blank"].gather(first_line) & single
        problem = (
            pl.when(pl.lit(single) & (pl.lit(line_fields) != width))
            .then(pl.format("row has {} fields, expected {}", pl.lit(line_fields), pl.lit(width)))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
        return batch.with_columns(row_number, problem.alias(PROBLEM)).filter(~pl.lit(is_blank))


def csv_info(encoding: str, delimiter: str) -> SourceInfo:
    """What the report says about a CSV file it read."""
    return SourceInfo(
        format="csv",
        encoding=encoding,
        delimiter={"\t": "tab"}.get(delimiter, delimiter),
        sheet=None,
        row_label="line",
    )


def open_csv(path: Path, workdir: Path, limits: InputLimits = DEFAULT_LIMITS) -> CsvSource:
    prepared = prepare(path, workdir)
    delimiter = sniff_delimiter(read_head(prepared.path))
    raw_header = read_header(prepared.path, delimiter, limits.header_bytes)
    header = check_header(raw_header, limits.column_name_chars)
    check_line_lengths(prepared.path, limits.line_bytes)
    source = CsvSource(csv_info(prepared.encoding, delimiter), header, prepared, delimiter)
    if prepared.scan.has_quotes or not _every_line_has_width(prepared.path, delimiter, len(header)):
        source._line_counts()  # quoted fields, or some line of another width: count exactly
    return source


def _every_line_has_width(path: Path, delimiter: str, width: int) -> bool:
    """Without quotes, each line is a record; if the delimiters add up to (width - 1) per line,
    no line can hold more fields than the header without also leaving another line short."""
    separator = delimiter.encode()
    delimiters = lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            delimiters += block.count(separator)
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return delimiters == (width - 1) * lines

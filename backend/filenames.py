"""File names, the one module for them: in HTTP both ways (REST and GraphQL uploads alike), and
as the last part of an upload's storage key.

In: what curl and browsers send (RFC 7578: the name as raw UTF-8 in `filename="..."`, with `"`
written `%22` as the HTML standard says), and RFC 5987/2231 `filename*=UTF-8''<percent-encoded>`,
which wins when both are there. Out: `attachment()` makes a Content-Disposition for a download
(RFC 6266): an ASCII `filename` and the name itself in `filename*`. Stored: `storage_name()`
makes the name safe in a storage key; the task keeps the name as it was sent. `stem()` is the
name without its extension, to name a file made from it.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote_to_bytes

_PARAMETER = re.compile(r"\s*([^\s=;]+)\s*=\s*")
# Browsers and curl write a '"' in a file name as %22 (CR and LF as %0D and %0A, left as they
# are here). A name with a literal "%22" in it cannot be told apart; it is taken as a quote.
_ESCAPED_QUOTE = re.compile("%22", re.IGNORECASE)
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\)")
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._%-]+")
_CUT_ESCAPE = re.compile(r"%[0-9A-F]?$")  # an escape cut in two by the length limit
_CHARSETS = ("utf-8", "iso-8859-1")


def header_text(value: bytes) -> str:
    """A part header's bytes as text: UTF-8 (what curl and browsers send), else Latin-1."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def parse_disposition(value: str) -> tuple[str, dict[str, str]]:
    """A Content-Disposition's type and parameters (names lower-cased, quoted values unescaped;
    a quoted value may hold ';'). The first of a repeated parameter wins."""
    kind, _, rest = value.partition(";")
    parameters: dict[str, str] = {}
    at = 0
    while at < len(rest):
        found = _PARAMETER.match(rest, at)
        if found is None:  # not a parameter: skip to the next one
            at = _after_semicolon(rest, at)
            continue
        at = found.end()
        if rest.startswith('"', at):
            text, at = _quoted(rest, at + 1)
        else:
            end = _after_semicolon(rest, at) - 1
            text, at = rest[at:end].strip(), end
        parameters.setdefault(found.group(1).lower(), text)
        at = _after_semicolon(rest, at)
    return kind.strip().lower(), parameters


def _after_semicolon(text: str, at: int) -> int:
    semicolon = text.find(";", at)
    return len(text) + 1 if semicolon < 0 else semicolon + 1


def _quoted(text: str, at: int) -> tuple[str, int]:
    """A quoted string from just after its opening quote: \\" and \\\\ are escapes; any other
    backslash is kept, as curl sends backslashes in names as they are."""
    value: list[str] = []
    while at < len(text):
        char = text[at]
        if char == "\\" and text[at + 1 : at + 2] in ('"', "\\"):
            value.append(text[at + 1])
            at += 2
        elif char == '"':
            return "".join(value), at + 1
        else:
            value.append(char)
            at += 1
    return "".join(value), at


def filename_of(parameters: dict[str, str]) -> str | None:
    extended = parameters.get("filename*")
    if extended is not None and (decoded := _extended_value(extended)) is not None:
        return decoded
    plain = parameters.get("filename")
    return None if plain is None else plain_filename(plain)


def plain_filename(plain: str) -> str:
    """A `filename="..."` value as the user named the file."""
    if _WINDOWS_PATH.match(plain):  # old browsers send the whole path: keep the file's name
        plain = plain.rsplit("\\", 1)[-1]
    return _ESCAPED_QUOTE.sub('"', plain)


def _extended_value(value: str) -> str | None:
    """An RFC 5987 value, charset'language'percent-encoded, in UTF-8 or ISO-8859-1 (the two it
    requires); None when it is neither or cannot be decoded."""
    charset, _, encoded = (value.split("'", 2) + ["", ""])[:3]
    if value.count("'") < 2 or charset.strip().lower() not in _CHARSETS:
        return None
    try:
        return unquote_to_bytes(encoded).decode(charset.strip()) or None
    except UnicodeDecodeError:
        return None


def attachment(filename: str, fallback: str) -> str:
    """Content-Disposition for a download named `filename` (RFC 6266): `filename*` carries the
    name as percent-encoded UTF-8; `filename`, for clients that only read that, is the name with
    accents removed and other characters made "_", or `fallback` (ASCII) when letters would be
    lost."""
    folded = _without_accents(filename)
    ascii_name = _UNSAFE_ASCII.sub("_", folded).strip("_") if folded.isascii() else ""
    return (
        f'attachment; filename="{ascii_name or fallback}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )


def stem(filename: str) -> str:
    """The name without its folder and its last extension (sales.2024.csv -> sales.2024); ""
    when nothing is left (".csv")."""
    return filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def storage_name(filename: str | None) -> str:
    """The upload's name as the last part of its storage key: ASCII, no path, no leading "." or
    "_", at most 200 characters. Accents are dropped (données.csv -> donnees.csv); other
    non-ASCII characters are percent-encoded as UTF-8, so any URL decoder shows them again
    (売上.csv -> %E5%A3%B2%E4%B8%8A.csv); other ASCII characters become "_"."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    escaped = "".join(
        c if c.isascii() and c != "%" else quote(c, safe="") for c in _without_accents(base)
    )
    cleaned = _UNSAFE_KEY_CHARS.sub("_", escaped)[:200]
    return _CUT_ESCAPE.sub("", cleaned).strip("._") or "upload"


def _without_accents(text: str) -> str:
    """`text` with its accents removed (é -> e); other characters as they are."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))

"""A streaming multipart/form-data reader for uploads.

Starlette's form parser spools a whole file to a temporary file before the route runs; this one
hands the file part to the caller chunk by chunk as it arrives, so an upload goes straight to
storage, a size limit or an unsupported format is detected while streaming, and the body is
never held whole in memory or on local disk.

Part headers and file names are read by backend.filenames (shared with GraphQL uploads).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from backend.errors import BadRequest, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from backend.filenames import filename_of, header_text, parse_disposition
from backend.units import format_bytes

T = TypeVar("T")
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None


@dataclass
class Form(Generic[T]):
    fields: dict[str, str] = field(default_factory=dict)
    file: T | None = None


# A file handler gets the part, the fields seen so far, and the part's bytes as they arrive.
FileHandler = Callable[[Part, dict[str, str], AsyncIterator[bytes]], Awaitable[T]]
Discard = Callable[[T], Awaitable[None]]


class _Events:
    """Feeds body chunks to python-multipart and queues what it reports."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._queue: deque[tuple[str, Any]] = deque()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_part_data": self._part_data,
                "on_part_end": lambda: self._queue.append(("end", None)),
                "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_end": self._end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._queue.append(("data", data[start:end]))

    def _header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self._headers[name] = header_text(bytes(self._header_value)).strip()
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition, parameters = parse_disposition(self._headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in parameters:
            raise BadRequest(
                "a multipart part has no form-data name",
                "Send each field with Content-Disposition: form-data; name=...",
            )
        self._queue.append(
            (
                "part",
                Part(
                    name=parameters["name"],
                    filename=filename_of(parameters),
                    content_type=self._headers.get("content-type"),
                ),
            )
        )

    def _end(self) -> None:
        self._ended = True

    async def next(self) -> tuple[str, Any] | None:
        while not self._queue:
            if self._ended:
                return None
            try:
                chunk = await anext(self._body)
            except ClientDisconnect:
                raise BadRequest(
                    "the client disconnected during the upload",
                    "Nothing was stored; send the file again.",
                ) from None
            except StopAsyncIteration:
                raise BadRequest(
                    "the multipart body ended early",
                    "The upload was cut off; send the whole request again.",
                ) from None
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise BadRequest("the multipart body is malformed", str(exc)) from exc
        return self._queue.popleft()

    async def part_bytes(self) -> AsyncIterator[bytes]:
        while (event := await self.next()) is not None and event[0] == "data":
            yield event[1]

    async def part_text(self, name: str) -> str:
        value = bytearray()
        async for chunk in self.part_bytes():
            value += chunk
            if len(value) > MAX_FIELD_BYTES:
                raise PayloadTooLarge(
                    f"form field {name!r} is too large",
                    f"Fields are limited to {format_bytes(MAX_FIELD_BYTES)}.",
                )
        return value.decode("utf-8", "replace")


def boundary_of(content_type: str | None) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedMediaType(
            "the upload must be sent as multipart/form-data",
            "Send the file as a form field, e.g. curl -F file=@data.csv -F datasource_name=sales ...",
        )
    return options[b"boundary"]


async def read_form(
    body: AsyncIterator[bytes],
    content_type: str | None,
    *,
    file_field: str,
    on_file: FileHandler[T],
    discard: Discard[T],
) -> Form[T]:
    """Read the form; `on_file` consumes the file part while it streams in.

    If anything fails after the file was handled, `discard` undoes what `on_file` did.
    """
    events = _Events(body, boundary_of(content_type))
    form: Form[T] = Form()
    try:
        await _read_parts(events, form, file_field, on_file)
    except BaseException:
        if form.file is not None:
            await discard(form.file)
        raise
    return form


async def _read_parts(
    events: _Events, form: Form[T], file_field: str, on_file: FileHandler[T]
) -> None:
    parts = 0
    while (event := await events.next()) is not None:
        if event[0] != "part":
            continue
        parts += 1
        if parts > MAX_PARTS:
            raise InvalidInput("too many form fields", f"Send at most {MAX_PARTS} fields.")
        part: Part = event[1]
        if part.name in form.fields:
            raise InvalidInput(
                f"the form field {part.name[:64]!r} was sent more than once",
                "Send each field once.",
            )
        if part.name != file_field:
            form.fields[part.name] = await events.part_text(part.name)
        elif form.file is not None:
            raise InvalidInput("more than one file was sent", "Send one file per upload.")
        elif part.filename is None:  # curl -F file=data.csv: the text "data.csv", not the file
            raise InvalidInput(
                f"the form field {file_field!r} holds text, not a file",
                f"Send the file itself: curl -F {file_field}=@data.csv (with the @).",
            )
        else:
            chunks = events.part_bytes()
            form.file = await on_file(part, dict(form.fields), chunks)
            async for _ in chunks:  # a handler that stopped early still leaves the part consumed
                pass

"""The local folder's parts: each written at its offset of one file, in any order, its size
exact and its sha256 counted while it is written."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.storage.local import LocalObjectStore
from backend.storage.parts import LocalParts, PartSizeWrong, session_key


async def pieces(data: bytes, size: int = 300_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_parts_written_in_any_order_make_the_file(tmp_path: Path) -> None:
    parts = LocalParts(LocalObjectStore(tmp_path))
    data = bytes(range(256)) * 10_000  # 2.56 MB in parts of 1 MB
    key = session_key("abc", "data.csv")
    await parts.create(key, len(data))
    for number in (3, 1, 2):
        part = data[(number - 1) * 1_000_000 : number * 1_000_000]
        stored = await parts.write_part(key, (number - 1) * 1_000_000, len(part), pieces(part))
        assert stored.etag == hashlib.sha256(part).hexdigest()
    assert (tmp_path / key).read_bytes() == data
    assert await parts.sha256(key) == hashlib.sha256(data).hexdigest()
    assert await parts.head(key, 4) == data[:4]
    await parts.abort(key, None)
    assert await parts.size(key) is None


async def test_a_part_of_another_size_is_refused(tmp_path: Path) -> None:
    parts = LocalParts(LocalObjectStore(tmp_path))
    key = session_key("abc", "data.csv")
    await parts.create(key, 10)
    with pytest.raises(PartSizeWrong) as longer:
        await parts.write_part(key, 0, 5, pieces(b"123456"))
    assert (longer.value.received, longer.value.expected) == (6, 5)
    with pytest.raises(PartSizeWrong):
        await parts.write_part(key, 5, 5, pieces(b"1234"))

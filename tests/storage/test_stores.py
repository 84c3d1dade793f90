"""Both object stores behave the same: the local folder and S3 over HTTP (moto's server)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.storage import ObjectStore, create_store
from backend.storage.base import WRITE_BLOCK_BYTES, check_key
from backend.storage.local import LocalObjectStore
from tests.conftest import Backend


@pytest.fixture
def store(backend: Backend) -> ObjectStore:
    return create_store(backend.settings)


async def read_all(store: ObjectStore, key: str) -> bytes:
    data = bytearray()
    async for chunk in store.read_chunks(key):
        data += chunk
    return bytes(data)


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [0, 10, WRITE_BLOCK_BYTES * 2 + 12345])
async def test_streamed_object_is_stored_whole_with_its_size_and_sha256(
    store: ObjectStore, size: int
) -> None:
    data = bytes(i % 251 for i in range(size))
    writer = store.writer("raw/t1/file.csv")
    async for chunk in chunks_of(data, 65_536):
        await writer.write(chunk)
    stored = await writer.commit()

    assert (stored.size, stored.sha256) == (size, hashlib.sha256(data).hexdigest())
    assert await read_all(store, "raw/t1/file.csv") == data
    assert [(o.key, o.size) for o in await store.list_prefix("raw")] == [("raw/t1/file.csv", size)]


@pytest.mark.parametrize(
    "sizes",
    [
        # in blocks of the writer: chunks that end exactly on a block, straddle one, span several
        [1.0, 1.0, 0.5],
        [0.75, 0.5, 0.75, 0.25, 2.5, 0.001],
        [3.2],
        [0.999, 0.002, 0.999],
    ],
)
async def test_chunks_of_any_size_are_stored_in_order(
    store: ObjectStore, sizes: list[float]
) -> None:
    # The writer reuses two block buffers: a block still being written must never be refilled.
    writer = store.writer("raw/t3/chunks.bin")
    chunks = [
        bytes([n]) * max(1, int(fraction * writer.block_bytes)) for n, fraction in enumerate(sizes)
    ]
    for chunk in chunks:
        await writer.write(chunk)
    stored = await writer.commit()

    data = b"".join(chunks)
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await read_all(store, "raw/t3/chunks.bin") == data


async def test_aborted_writer_leaves_nothing(store: ObjectStore) -> None:
    writer = store.writer("raw/t2/big.csv")
    await writer.write(b"x" * (WRITE_BLOCK_BYTES + 1))  # a multipart upload is under way on S3
    await writer.write(b"y" * 100)
    await writer.abort()

    assert await store.list_prefix("raw") == []
    assert not await store.exists("raw/t2/big.csv")


async def test_files_round_trip_and_prefixes_are_deleted(
    store: ObjectStore, tmp_path: Path
) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"parquet bytes")
    await store.put_file("datasets/sales/a.parquet", source)
    await store.put_file("datasets/sales/b.parquet", source)
    await store.put_file("datasets/salesx/c.parquet", source)
    source.unlink()  # the caller's scratch file goes; what was stored stays

    await store.get_file("datasets/sales/a.parquet", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"parquet bytes"
    assert await read_all(store, "datasets/salesx/c.parquet") == b"parquet bytes"
    assert await store.delete_prefix("datasets/sales") == 2
    assert [o.key for o in await store.list_prefix("datasets")] == ["datasets/salesx/c.parquet"]
    with pytest.raises(FileNotFoundError):
        await read_all(store, "datasets/sales/a.parquet")


@pytest.mark.parametrize("size", [10, 17 * 1024 * 1024 + 5])  # S3: one CopyObject; parts
async def test_an_object_is_copied_inside_the_store(store: ObjectStore, size: int) -> None:
    data = bytes(i % 253 for i in range(size))
    writer = store.writer("sessions/s1/f.csv")
    async for chunk in chunks_of(data, 1024 * 1024):
        await writer.write(chunk)
    await writer.commit()

    await store.copy("sessions/s1/f.csv", "raw/t2/f.csv")
    await store.delete("sessions/s1/f.csv")  # the copy is an object of its own

    assert hashlib.sha256(await read_all(store, "raw/t2/f.csv")).digest() == (
        hashlib.sha256(data).digest()
    )
    assert [o.key for o in await store.list_prefix("raw")] == ["raw/t2/f.csv"]
    assert await store.list_prefix("sessions") == []
    with pytest.raises(FileNotFoundError):
        await store.copy("sessions/s1/f.csv", "raw/t3/f.csv")
    assert not await store.exists("raw/t3/f.csv")


async def test_a_local_copy_falls_back_to_copying_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalObjectStore(tmp_path / "store")
    await store.put_file("raw/t1/f.csv", _written(tmp_path / "in.csv", b"a,b\n1,2\n"))

    def no_link(*_: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    await store.copy("raw/t1/f.csv", "raw/t2/f.csv")

    assert await read_all(store, "raw/t2/f.csv") == b"a,b\n1,2\n"
    assert os.stat(tmp_path / "store/raw/t2/f.csv").st_nlink == 1  # bytes of its own
    assert [o.key for o in await store.list_prefix("raw")] == ["raw/t1/f.csv", "raw/t2/f.csv"]


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "../x", "a/./b", "a/../b", "a\\b"])
def test_keys_cannot_escape_the_store(key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        check_key(key)

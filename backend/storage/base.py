"""The ObjectStore protocol and the streaming writer both implementations share."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Writes go to the backend in blocks of this size, off the event loop (S3's parts; the local folder
# uses smaller blocks, which stay in the CPU's cache).
WRITE_BLOCK_BYTES = 8 * 1024 * 1024
LOCAL_WRITE_BLOCK_BYTES = 1024 * 1024
_KEY_PART = re.compile(r"^[^/\\\x00]+$")


def check_key(key: str) -> str:
    """Keys are relative, slash-separated, with no empty, '.' or '..' parts."""
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") or not _KEY_PART.match(p) for p in parts):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: dt.datetime | None = None  # last written (UTC), when the store says


class ObjectWriter(ABC):
    """Streams bytes into one object: counts size and sha256 as it goes, writes in blocks off the
    event loop (one block in flight while the next is received), and either commits or aborts.

    Blocks are two buffers reused for the whole object, not a new one per block: allocating and
    freeing megabytes per block made the kernel map, fault and unmap fresh pages for every block
    (with the worker threads, each unmap interrupts the other CPU), which cost more than receiving
    and writing the bytes (measured in bench/RESULTS.md, "Upload phase").
    """

    # Subclasses pick the block size their backend wants (S3 parts must be >= 5 MiB).
    block_bytes = WRITE_BLOCK_BYTES

    def __init__(self, key: str) -> None:
        self.key = check_key(key)
        self.size = 0
        self._hash = hashlib.sha256()
        self._blocks: list[bytearray] = []  # allocated on first use, at most two
        self._current = 0  # the block being filled
        self._filled = 0
        self._pending: asyncio.Future[None] | None = None

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        view = memoryview(chunk)
        while view:
            block = self._block()
            take = min(len(block) - self._filled, len(view))
            block[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]
            if self._filled == len(block):
                await self._flush_block(final=False)

    async def commit(self) -> StoredObject:
        await self._flush_block(final=True)
        await self._drain()
        await asyncio.to_thread(self._finish)
        return StoredObject(key=self.key, size=self.size, sha256=self._hash.hexdigest())

    async def abort(self) -> None:
        try:
            await self._drain()
        except Exception:  # noqa: BLE001 - aborting anyway; the cleanup below still runs
            pass
        await asyncio.to_thread(self._discard)

    def _block(self) -> bytearray:
        while len(self._blocks) <= self._current:
            self._blocks.append(bytearray(self.block_bytes))
        return self._blocks[self._current]

    async def _flush_block(self, *, final: bool) -> None:
        await self._drain()  # the other block is free again once the write in flight is done
        if not self._filled and not final:
            return
        data = memoryview(self._block())[: self._filled]
        self._current, self._filled = 1 - self._current, 0
        self._pending = asyncio.ensure_future(asyncio.to_thread(self._hash_and_write, data, final))

    async def _drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    def _hash_and_write(self, block: memoryview, final: bool) -> None:
        self._hash.update(block)  # hashlib releases the GIL for large blocks
        self._write_block(block, final)

    @abstractmethod
    def _write_block(self, block: memoryview, final: bool) -> None:
        """Write one block; it is reused after this returns, so keep a copy to hold on to it."""

    @abstractmethod
    def _finish(self) -> None: ...

    @abstractmethod
    def _discard(self) -> None: ...


class ObjectStore(Protocol):
    """Where uploaded and normalized files live. Every method is safe to call from the event loop."""

    @property
    def description(self) -> str:
        """Where objects are, for operators (logs): may include a path."""
        ...

    @property
    def kind(self) -> str:
        """What the store is, safe to show to anyone (no path, no address)."""
        ...

    async def check(self) -> None:
        """Raise with a clear message when the store cannot be used (missing bucket, no access)."""

    def writer(self, key: str) -> ObjectWriter: ...

    def local_path(self, key: str) -> Path | None:
        """The object's path when the store is a local folder (lets readers skip a copy)."""

    async def put_file(self, key: str, path: Path) -> None:
        """Store a finished file. A local folder may keep that very file (a hard link): the
        caller may read or delete `path` afterwards, never change it."""
        ...

    async def get_file(self, key: str, path: Path) -> None: ...

    async def read_chunks(self, key: str) -> AsyncIterator[bytes]:
        """Stream an object's bytes (raises FileNotFoundError when it does not exist)."""
        yield b""  # pragma: no cover - protocol signature only

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def delete_prefix(self, prefix: str) -> int: ...

    async def list_prefix(self, prefix: str) -> list[ObjectInfo]: ...

    async def abort_stale_writes(self, older_than: dt.datetime) -> int:
        """Remove what writers that never committed left behind (a crash mid-upload) before
        `older_than`; returns how many were removed."""
        ...

    def free_bytes(self) -> int | None:
        """Free space where objects are written, or None when the store has no such limit."""
        ...

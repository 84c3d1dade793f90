"""The ObjectStore protocol and the streaming writer both implementations share."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotoConnectionError

from backend import threads
from backend.errors import StorageOutage, disk_full, is_disk_full, storage_unavailable

T = TypeVar("T")
log = logging.getLogger(__name__)
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


# S3 answers that mean "not now": throttled, overloaded, or an error of its own.
_TRANSIENT_CODES = frozenset({"SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError"})


def is_outage(error: BaseException | None) -> bool:
    """The store did not answer (refused, timed out, cut off) or said to come back later; also
    when such an error is the cause of another (boto3's transfer wraps what it met)."""
    for _ in range(8):
        if error is None:
            return False
        if isinstance(error, (BotoConnectionError, HTTPClientError, IncompleteReadError)):
            return True
        if isinstance(error, ClientError):
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            code = str(error.response.get("Error", {}).get("Code", ""))
            return status >= 500 or code in _TRANSIENT_CODES
        # boto3's transfer gives up with RetriesExceededError, holding what it met.
        error = getattr(error, "last_exception", None) or error.__cause__ or error.__context__
    return False


async def run_storage(place: str, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a blocking storage call on the storage pool (backend.threads), so a stalled store
    holds only threads of its own. An outage comes out as a 503 the caller may retry, a full
    disk as a 507 naming `place`: never the store's address, bucket or keys."""
    try:
        return await threads.STORAGE.run(function, *args, **kwargs)
    except Exception as exc:
        if is_disk_full(exc):
            raise disk_full(place) from exc
        if is_outage(exc):
            raise storage_unavailable() from exc
        raise


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
    # What a full disk is called in the answer (the local store's folder).
    place = "storage folder"

    def __init__(self, key: str) -> None:
        self.key = check_key(key)
        self.size = 0
        self._hash = hashlib.sha256()
        self._blocks: list[bytearray] = []  # allocated on first use, at most two
        self._current = 0  # the block being filled
        self._filled = 0
        self._pending: asyncio.Future[None] | None = None
        self.outage = False  # a call of this write found the store not answering

    async def _store(self, function: Callable[..., None], /, *args: Any) -> None:
        try:
            await run_storage(self.place, function, *args)
        except StorageOutage:
            self.outage = True
            raise

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
        await self._store(self._finish)
        return StoredObject(key=self.key, size=self.size, sha256=self._hash.hexdigest())

    async def abort(self) -> None:
        """Remove what was written (an open multipart upload is aborted). Best effort: when the
        store is down this fails too, and the janitor's abort_stale_writes removes it later;
        the error that made the caller abort is the one to report."""
        try:
            await self._drain()
        except Exception:  # noqa: BLE001 - aborting anyway; the cleanup below still runs
            pass
        if self.outage:
            # Asking a store that does not answer to clean up would hold the caller (an upload
            # at the door: its 503) for as long again; the janitor cleans up once it answers.
            self._leave_to_janitor()
            return
        try:
            await self._store(self._discard)
        except Exception as exc:  # noqa: BLE001 - see above
            log.warning(
                "an unfinished write was not removed (%s); the janitor removes it later",
                type(exc).__name__,
            )

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
        self._pending = asyncio.ensure_future(self._store(self._hash_and_write, data, final))

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

    def _leave_to_janitor(self) -> None:  # noqa: B027 - most writers leave nothing behind
        """What the janitor must remove of this write once the store answers again."""


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

    async def copy(self, src_key: str, dst_key: str) -> None:
        """Store the object `src_key` again as `dst_key`, inside the store (its bytes never
        pass through the caller): a hard link on a local folder, a server-side copy on S3.
        Raises FileNotFoundError when `src_key` does not exist."""
        ...

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

    def for_probe(self, timeout: float) -> ObjectStore:
        """The same store, its calls bounded by `timeout` (connect, read, no retry), for a
        health probe that must not hold a thread past its own deadline."""
        ...

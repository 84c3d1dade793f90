"""Local-folder object store: the embedded default."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from backend.storage.base import (
    LOCAL_WRITE_BLOCK_BYTES,
    ObjectInfo,
    ObjectStore,
    ObjectWriter,
    check_key,
    run_storage,
)

STORED = "storage folder"
TEMPORARY = "temporary folder"

READ_CHUNK_BYTES = 1024 * 1024


def _prune_empty_parents(path: Path, root: Path) -> None:
    """Remove folders left empty by a delete, up to (not including) the store's root."""
    for parent in path.parents:
        if parent == root or root not in parent.parents:
            return
        try:
            parent.rmdir()
        except OSError:  # not empty (or already gone): stop here
            return


class _LocalWriter(ObjectWriter):
    block_bytes = LOCAL_WRITE_BLOCK_BYTES

    def __init__(self, key: str, target: Path, root: Path) -> None:
        super().__init__(key)
        self._target = target
        self._root = root
        self._tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        self._handle: BinaryIO | None = None

    def _write_block(self, block: memoryview, final: bool) -> None:
        if self._handle is None:
            self._target.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self._tmp.open("wb")
        self._handle.write(block)

    def _finish(self) -> None:
        if self._handle is None:
            self._write_block(memoryview(b""), True)
        assert self._handle is not None
        self._handle.close()
        os.replace(self._tmp, self._target)

    def _discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._tmp.unlink(missing_ok=True)
        _prune_empty_parents(self._tmp, self._root)


def _open_binary(path: Path) -> BinaryIO:
    return path.open("rb")


def _info(key: str, path: Path) -> ObjectInfo:
    stat = path.stat()
    return ObjectInfo(key, stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def kind(self) -> str:
        return "local folder"

    @property
    def description(self) -> str:
        return f"local folder {self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def check(self) -> None:
        await run_storage(STORED, self.root.mkdir, parents=True, exist_ok=True)

    def writer(self, key: str) -> ObjectWriter:
        return _LocalWriter(key, self._path(key), self.root)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def put_file(self, key: str, path: Path) -> None:
        await run_storage(STORED, self._put_file, self._path(key), path)

    @staticmethod
    def _put_file(target: Path, source: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            # The file is the caller's finished scratch file: keep it, not a copy of its bytes
            # (a copy wrote the whole dataset again). Another file system: copy.
            os.link(source, tmp)
        except OSError:
            try:
                shutil.copyfile(source, tmp)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        os.replace(tmp, target)

    async def get_file(self, key: str, path: Path) -> None:
        await run_storage(TEMPORARY, shutil.copyfile, self._path(key), path)

    async def copy(self, src_key: str, dst_key: str) -> None:
        source = self._path(src_key)
        if not await run_storage(STORED, source.is_file):
            raise FileNotFoundError(src_key)
        # A hard link: the bytes are not written again (a task's file is never changed in
        # place, only replaced or deleted). Another file system: a copy, on the storage pool.
        await run_storage(STORED, self._put_file, self._path(dst_key), source)

    async def read_chunks(self, key: str) -> AsyncIterator[bytes]:
        handle = await run_storage(STORED, _open_binary, self._path(key))
        try:
            while chunk := await run_storage(STORED, handle.read, READ_CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def exists(self, key: str) -> bool:
        return await run_storage(STORED, self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await run_storage(STORED, self._delete, self._path(key))

    def _delete(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        _prune_empty_parents(path, self.root)

    async def delete_prefix(self, prefix: str) -> int:
        return await run_storage(STORED, self._delete_tree, self._path(prefix.rstrip("/")))

    @staticmethod
    def _delete_tree(path: Path) -> int:
        if path.is_file():
            path.unlink()
            return 1
        if not path.is_dir():
            return 0
        count = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
        return count

    async def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        return await run_storage(STORED, self._list, prefix)

    def _list(self, prefix: str) -> list[ObjectInfo]:
        base = self._path(prefix.rstrip("/"))
        if base.is_file():
            return [_info(prefix.rstrip("/"), base)]
        if not base.is_dir():
            return []
        found = []
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                found.append(_info(path.relative_to(self.root).as_posix(), path))
        return found

    async def abort_stale_writes(self, older_than: dt.datetime) -> int:
        return await run_storage(STORED, self._remove_stale_parts, older_than.timestamp())

    def _remove_stale_parts(self, before: float) -> int:
        removed = 0
        for path in self.root.rglob(".*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < before:
                    path.unlink()
                    _prune_empty_parents(path, self.root)
                    removed += 1
        return removed

    def free_bytes(self) -> int | None:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free

    def for_probe(self, timeout: float) -> ObjectStore:
        return self  # a local folder has no network timeouts to shorten

"""Where an upload session's parts go, per store: an S3 multipart upload whose parts clients
send straight to S3 (presigned part addresses), or one file of the local folder that each part
is written into at its offset. Both hand back what the session service needs: the parts stored,
the finished object's first bytes and its sha256.

Nothing blocking runs on the event loop: boto3 calls go through `run_storage`, file writes
through the storage pool (backend.threads)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from backend.config import Settings
from backend.storage.base import ObjectStore, check_key, run_storage
from backend.storage.local import LocalObjectStore
from backend.storage.s3 import S3ObjectStore, Timeouts, make_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

STORED = "storage folder"
# Every session's object lives under this prefix (never under raw/, which the janitor sweeps).
SESSIONS_PREFIX = "sessions/"
# A part arriving at the service is written in blocks of at most this size.
WRITE_BLOCK_BYTES = 1024 * 1024
# A finished object is read back (its sha256) in blocks of this size.
READ_BLOCK_BYTES = 1024 * 1024
# How long one CompleteMultipartUpload may answer in (S3 sends blanks meanwhile to keep it open).
COMPLETE_READ_SECONDS = 900.0


def session_key(session_id: str, name: str) -> str:
    return check_key(f"{SESSIONS_PREFIX}{session_id}/{name}")


def is_session_key(key: str) -> bool:
    return key.startswith(SESSIONS_PREFIX)


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str


@dataclass(frozen=True)
class PartAddress:
    url: str
    headers: dict[str, str]


class PartSizeWrong(ValueError):
    """A part's body was not the size the session gives that part."""

    def __init__(self, received: int, expected: int) -> None:
        super().__init__(f"received {received} bytes, expected {expected}")
        self.received = received
        self.expected = expected


class PartTooLate(TimeoutError):
    """A part's write went past its deadline: nothing more of it is written."""


def sha256_base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


class PartTarget(Protocol):
    """The parts of one store. `upload_id` is S3's multipart upload (None for the local folder)."""

    kind: str  # "s3" or "local"

    async def create(self, key: str, size: int) -> str | None: ...

    async def listed(self, key: str, upload_id: str | None) -> list[StoredPart] | None:
        """The parts the store holds (S3); None when the service keeps the list (local)."""
        ...

    async def complete(self, key: str, upload_id: str | None, parts: list[StoredPart]) -> None: ...

    async def abort(self, key: str, upload_id: str | None) -> None: ...

    async def size(self, key: str) -> int | None:
        """The finished object's size, None when it does not exist."""
        ...

    async def head(self, key: str, length: int) -> bytes: ...

    async def sha256(self, key: str) -> str: ...


class S3Parts:
    """Parts go straight to S3: the service creates the multipart upload and signs each part's
    address with a client whose endpoint is the one upload clients reach."""

    kind = "s3"

    def __init__(
        self, store: S3ObjectStore, public: S3Client, completing: S3Client | None = None
    ) -> None:
        self.store = store
        self.client = store.client
        self.public = public
        # CompleteMultipartUpload may take minutes for a large object (S3 keeps the connection
        # open meanwhile): the store's read timeout would give up and retry it.
        self.completing = completing or store.client

    async def create(self, key: str, size: int) -> str | None:
        created = await run_storage(
            STORED,
            self.client.create_multipart_upload,
            Bucket=self.store.bucket,
            Key=self.store.object_key(key),
        )
        return created["UploadId"]

    def address(
        self, key: str, upload_id: str, number: int, seconds: int, sha256: str | None
    ) -> PartAddress:
        """A presigned upload_part address (no network call: signing is local)."""
        params: dict[str, Any] = {
            "Bucket": self.store.bucket,
            "Key": self.store.object_key(key),
            "UploadId": upload_id,
            "PartNumber": number,
        }
        headers: dict[str, str] = {}
        if sha256 is not None:
            params["ChecksumSHA256"] = sha256
            headers["x-amz-checksum-sha256"] = sha256
        url = self.public.generate_presigned_url("upload_part", Params=params, ExpiresIn=seconds)
        return PartAddress(url, headers)

    async def listed(self, key: str, upload_id: str | None) -> list[StoredPart] | None:
        assert upload_id is not None
        return await run_storage(STORED, self._list_parts, key, upload_id)

    def _list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        found: list[StoredPart] = []
        paginator = self.client.get_paginator("list_parts")
        pages = paginator.paginate(
            Bucket=self.store.bucket, Key=self.store.object_key(key), UploadId=upload_id
        )
        try:
            for page in pages:
                for part in page.get("Parts", []):
                    etag = part["ETag"].strip('"')
                    found.append(StoredPart(part["PartNumber"], part["Size"], etag))
        except ClientError as exc:
            if not _no_such(exc):
                raise
            return []  # completed already (a complete that failed after it): no parts listed
        return sorted(found, key=lambda p: p.number)

    async def complete(self, key: str, upload_id: str | None, parts: list[StoredPart]) -> None:
        assert upload_id is not None
        listed = [{"PartNumber": p.number, "ETag": f'"{p.etag}"'} for p in parts]
        try:
            await run_storage(
                STORED,
                self.completing.complete_multipart_upload,
                Bucket=self.store.bucket,
                Key=self.store.object_key(key),
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )
        except ClientError as exc:
            # A retry of a complete whose first answer was lost finds no upload: the object is
            # there, assembled, when its size is the parts' sum.
            if not _no_such(exc) or await self.size(key) != sum(p.size for p in parts):
                raise

    async def abort(self, key: str, upload_id: str | None) -> None:
        if upload_id is not None:
            try:
                await run_storage(
                    STORED,
                    self.client.abort_multipart_upload,
                    Bucket=self.store.bucket,
                    Key=self.store.object_key(key),
                    UploadId=upload_id,
                )
            except ClientError as exc:
                if not _no_such(exc):
                    raise
        await self.store.delete(key)  # a completed object (a complete that failed after it)

    async def size(self, key: str) -> int | None:
        try:
            head = await run_storage(
                STORED,
                self.client.head_object,
                Bucket=self.store.bucket,
                Key=self.store.object_key(key),
            )
        except ClientError as exc:
            if _no_such(exc):
                return None
            raise
        return int(head["ContentLength"])

    async def head(self, key: str, length: int) -> bytes:
        def ranged() -> bytes:
            answer = self.client.get_object(
                Bucket=self.store.bucket,
                Key=self.store.object_key(key),
                Range=f"bytes=0-{length - 1}",
            )
            with answer["Body"] as body:
                return body.read(length)

        return await run_storage(STORED, ranged)

    async def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        async for chunk in self.store.read_chunks(key):
            await run_storage(STORED, digest.update, chunk)
        return digest.hexdigest()


def _no_such(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound", "NoSuchUpload")


class LocalParts:
    """One file per session at its key, as large as the file; each part is written at its
    offset as it arrives, in blocks, off the event loop."""

    kind = "local"

    def __init__(self, store: LocalObjectStore) -> None:
        self.store = store

    def _path(self, key: str) -> Path:
        path = self.store.local_path(key)
        assert path is not None
        return path

    async def create(self, key: str, size: int) -> str | None:
        await run_storage(STORED, _create_sparse, self._path(key), size)
        return None

    async def listed(self, key: str, upload_id: str | None) -> list[StoredPart] | None:
        return None

    async def write_part(
        self,
        key: str,
        offset: int,
        size: int,
        chunks: AsyncIterator[bytes],
        deadline: float | None = None,
    ) -> StoredPart:
        """Write a part's `size` bytes at `offset`; PartSizeWrong when the body is shorter or
        longer, PartTooLate when a block would be written after `deadline` (time.time()). What
        was written of a failed part is overwritten when the part is sent again: the caller
        forgets the part meanwhile. The part's number is left 0: the caller knows it."""
        fd = await run_storage(STORED, os.open, self._path(key), os.O_WRONLY)
        try:
            return await _write_blocks(fd, offset, size, chunks, deadline)
        finally:
            await run_storage(STORED, os.close, fd)

    async def complete(self, key: str, upload_id: str | None, parts: list[StoredPart]) -> None:
        return None  # the parts are in place already

    async def abort(self, key: str, upload_id: str | None) -> None:
        await self.store.delete(key)

    async def size(self, key: str) -> int | None:
        return await run_storage(STORED, _size, self._path(key))

    async def head(self, key: str, length: int) -> bytes:
        return await run_storage(STORED, _read_head, self._path(key), length)

    async def sha256(self, key: str) -> str:
        return await run_storage(STORED, _file_sha256, self._path(key))


async def _write_blocks(
    fd: int, offset: int, size: int, chunks: AsyncIterator[bytes], deadline: float | None
) -> StoredPart:
    digest = hashlib.sha256()
    block = bytearray()
    written = 0
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > size:
            raise PartSizeWrong(received, size)
        block += chunk
        if len(block) >= WRITE_BLOCK_BYTES:
            _in_time(deadline)
            written += await run_storage(STORED, _put_block, fd, offset + written, block, digest)
            block = bytearray()
    if block:
        _in_time(deadline)
        written += await run_storage(STORED, _put_block, fd, offset + written, block, digest)
    if written != size:
        raise PartSizeWrong(written, size)
    return StoredPart(0, size, digest.hexdigest())


def _in_time(deadline: float | None) -> None:
    if deadline is not None and time.time() > deadline:
        raise PartTooLate("the part's time limit passed")


def _put_block(fd: int, offset: int, block: bytearray, digest: Any) -> int:
    digest.update(block)
    view = memoryview(block)
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)
    return done


def _create_sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _read_head(path: Path, length: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(length)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


_TARGETS: weakref.WeakKeyDictionary[Any, PartTarget] = weakref.WeakKeyDictionary()


def target(store: ObjectStore, settings: Settings) -> PartTarget:
    """The parts of `store` (one per store: its signing client is built once)."""
    found = _TARGETS.get(store)
    if found is None:
        found = _build(store, settings)
        _TARGETS[store] = found
    return found


def _signing_client(settings: Settings) -> S3Client:
    """Signs part addresses (SigV4, so a part's checksum header is signed in) for the endpoint
    upload clients reach; it never calls S3 itself."""
    config = Config(
        region_name=settings.aws_region,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_public_endpoint_url or settings.s3_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        config=config,
    )


def _completing_client(settings: Settings) -> S3Client:
    timeouts = Timeouts(
        settings.s3_connect_timeout_seconds,
        max(settings.s3_read_timeout_seconds, COMPLETE_READ_SECONDS),
        settings.s3_max_attempts,
    )
    return make_client(
        settings.s3_endpoint_url,
        settings.aws_region,
        settings.aws_access_key_id,
        settings.aws_secret_access_key,
        timeouts,
    )


def _build(store: ObjectStore, settings: Settings) -> PartTarget:
    if isinstance(store, S3ObjectStore):
        return S3Parts(store, _signing_client(settings), _completing_client(settings))
    if isinstance(store, LocalObjectStore):
        return LocalParts(store)
    raise TypeError(f"upload sessions do not support {store.kind}")

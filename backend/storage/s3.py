"""S3 object store on boto3, for AWS or any S3-compatible server (MinIO, moto, Ceph, ...)."""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from boto3.s3.transfer import S3Transfer, TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.manager import TransferManager

from backend import threads
from backend.storage.base import ObjectInfo, ObjectStore, ObjectWriter, check_key, run_storage

STORED = "storage folder"  # never full on S3; named for the protocol
TEMPORARY = "temporary folder"  # where get_file downloads to

T = TypeVar("T")

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef, ObjectIdentifierTypeDef

# Downloads are retried twice at most on top of botocore's own retries (S3_MAX_ATTEMPTS): five,
# the default, held a stalled download for minutes.
_TRANSFER = TransferConfig(
    multipart_threshold=16 * 1024 * 1024, max_concurrency=4, num_download_attempts=2
)


class _InCallersContext(ThreadPoolExecutor):
    """The transfer's threads run each request in the context it was submitted from, so the
    parts of an upload are spans of its task's trace and their log records carry the task id."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def _transfer(client: S3Client) -> S3Transfer:
    """What client.upload_file / download_file use, with threads that keep the context."""
    return S3Transfer(manager=TransferManager(client, _TRANSFER, executor_cls=_InCallersContext))


class StorageUnavailable(RuntimeError):
    """The store cannot be used as configured; the message says what to fix."""


@dataclass(frozen=True)
class Timeouts:
    """How long one S3 call may take: connect and read timeouts per attempt, and attempts.
    botocore's defaults (60 s, and more attempts) held a thread for minutes on a stalled S3."""

    connect: float = 5.0
    read: float = 20.0
    attempts: int = 3


def make_client(
    endpoint_url: str | None,
    region: str,
    key_id: str | None,
    secret: str | None,
    timeouts: Timeouts | None = None,
) -> S3Client:
    timeouts = timeouts or Timeouts()
    config = Config(
        region_name=region,
        # Path-style addressing and checksums only when required: what S3-compatible servers accept.
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"total_max_attempts": timeouts.attempts, "mode": "standard"},
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
    )
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=config,
    )
    client.meta.events  # noqa: B018 - created now, not concurrently by the first calls
    return client


class _S3Writer(ObjectWriter):
    """Small objects are one PUT; larger ones a multipart upload of WRITE_BLOCK_BYTES parts."""

    def __init__(
        self,
        key: str,
        client: S3Client,
        bucket: str,
        object_key: str,
        unaborted: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(key)
        self._unaborted = unaborted if unaborted is not None else []
        self._client = client
        self._bucket = bucket
        self._object_key = object_key
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._single: bytes | None = None
        self._stored = False  # the single PUT went through

    def _write_block(self, block: memoryview, final: bool) -> None:
        if final and self._upload_id is None:
            self._single = bytes(block)  # the block is reused once this returns
            return
        if self._upload_id is None:
            created = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._object_key
            )
            self._upload_id = created["UploadId"]
        if not block and self._parts:
            return  # nothing left for a last part
        number = len(self._parts) + 1
        part = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._object_key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(block),  # botocore may read it again on a retry
        )
        self._parts.append({"PartNumber": number, "ETag": part["ETag"]})

    def _finish(self) -> None:
        if self._upload_id is None:
            self._client.put_object(
                Bucket=self._bucket, Key=self._object_key, Body=self._single or b""
            )
            self._stored = True
            return
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._object_key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
        )

    def _discard(self) -> None:
        if self._upload_id is not None:
            try:
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._object_key, UploadId=self._upload_id
                )
            except Exception:
                # S3 is down (the reason the write failed): the janitor aborts it once S3 is back,
                # not only when it is STAGED_UPLOAD_MAX_AGE_SECONDS old (its parts are billed).
                self._unaborted.append((self._object_key, self._upload_id))
                raise
        elif self._stored:  # a PUT that failed left no object (one that timed out may have:
            # the janitor removes stored uploads no task refers to)
            self._client.delete_object(Bucket=self._bucket, Key=self._object_key)

    def _leave_to_janitor(self) -> None:
        if self._upload_id is not None:
            self._unaborted.append((self._object_key, self._upload_id))


class S3ObjectStore:
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str,
        endpoint_url: str | None,
        region: str,
        probe_client: Callable[[float], S3Client] | None = None,
    ) -> None:
        self.client = client
        self._probe_client = probe_client
        self.region = region
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        # Multipart uploads whose abort failed (key, upload id): aborted by the next janitor run.
        self.unaborted: list[tuple[str, str]] = []

    @property
    def kind(self) -> str:
        return "S3"

    @property
    def description(self) -> str:
        where = self.endpoint_url or "AWS"
        return f"s3://{self.bucket}/{self.prefix} at {where}"

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    async def check(self) -> None:
        try:
            await threads.STORAGE.run(self.client.head_bucket, Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(
                f"S3 bucket {self.bucket!r} is not usable at {self.endpoint_url or 'AWS'}: {exc}. "
                "Create the bucket and check S3_ENDPOINT_URL, AWS_REGION and the AWS_* credentials."
            ) from exc

    def writer(self, key: str) -> ObjectWriter:
        return _S3Writer(key, self.client, self.bucket, self.object_key(key), self.unaborted)

    def local_path(self, key: str) -> Path | None:
        return None

    async def put_file(self, key: str, path: Path) -> None:
        def upload() -> None:
            with _transfer(self.client) as transfer:
                transfer.upload_file(str(path), self.bucket, self.object_key(key))

        await run_storage(STORED, upload)

    async def get_file(self, key: str, path: Path) -> None:
        try:

            def download() -> None:
                with _transfer(self.client) as transfer:
                    transfer.download_file(self.bucket, self.object_key(key), str(path))

            await run_storage(TEMPORARY, download)
        except ClientError as exc:
            if _is_missing(exc):
                raise FileNotFoundError(self.uri(key)) from exc
            raise

    async def copy(self, src_key: str, dst_key: str) -> None:
        """A server-side copy (boto3's managed copy: CopyObject, or UploadPartCopy in parts for
        an object too large for one CopyObject): no byte comes through this process."""
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": self.object_key(src_key)}
        try:
            await run_storage(
                STORED,
                self.client.copy,
                source,
                self.bucket,
                self.object_key(dst_key),
                Config=_TRANSFER,
            )
        except ClientError as exc:
            if _is_missing(exc):
                raise FileNotFoundError(self.uri(src_key)) from exc
            raise

    async def read_chunks(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await run_storage(
                STORED, self.client.get_object, Bucket=self.bucket, Key=self.object_key(key)
            )
        except ClientError as exc:
            if _is_missing(exc):
                raise FileNotFoundError(self.uri(key)) from exc
            raise
        body = response["Body"]
        try:
            while chunk := await run_storage(STORED, body.read, 1024 * 1024):
                yield chunk
        finally:
            body.close()

    async def exists(self, key: str) -> bool:
        try:
            await run_storage(
                STORED, self.client.head_object, Bucket=self.bucket, Key=self.object_key(key)
            )
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        await run_storage(
            STORED, self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key)
        )

    async def delete_prefix(self, prefix: str) -> int:
        found = await self.list_prefix(prefix)
        keys = [self.object_key(info.key) for info in found]
        for start in range(0, len(keys), 1000):
            batch: list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys[start : start + 1000]]
            await run_storage(
                STORED,
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
        return len(keys)

    async def list_prefix(self, prefix: str) -> list[ObjectInfo]:
        return await run_storage(STORED, self._list, prefix)

    def _list(self, prefix: str) -> list[ObjectInfo]:
        full = self.object_key(prefix.rstrip("/"))
        strip = len(self.prefix) + 1 if self.prefix else 0
        found: list[ObjectInfo] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for item in page.get("Contents", []):
                key = item["Key"]
                if key == full or key.startswith(full + "/"):
                    found.append(ObjectInfo(key[strip:], item["Size"], item.get("LastModified")))
        return sorted(found, key=lambda info: info.key)

    async def abort_stale_writes(self, older_than: dt.datetime) -> int:
        return await run_storage(STORED, self._abort_stale_uploads, older_than)

    def _abort_stale_uploads(self, older_than: dt.datetime) -> int:
        """Multipart uploads never completed (their parts are stored, and billed, until then):
        first those whose abort failed in this process, whatever their age, then old ones."""
        removed = self._abort_unaborted()
        paginator = self.client.get_paginator("list_multipart_uploads")
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                # An upload session's multipart upload (sessions/...) lives until the session
                # expires: its own expiry aborts it.
                if upload["Key"].startswith(f"{prefix}sessions/"):
                    continue
                if upload["Initiated"] < older_than:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed

    def _abort_unaborted(self) -> int:
        removed = 0
        while self.unaborted:
            key, upload_id = self.unaborted[0]
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except ClientError as exc:
                if not _is_missing(exc) and "NoSuchUpload" not in str(exc):
                    raise  # still failing: kept for the next run
            self.unaborted.pop(0)
            removed += 1
        return removed

    def free_bytes(self) -> int | None:
        return None  # an object store has no free-space figure to guard

    def for_probe(self, timeout: float) -> ObjectStore:
        if self._probe_client is None:
            return self
        client = self._probe_client(timeout)
        return S3ObjectStore(client, self.bucket, self.prefix, self.endpoint_url, self.region)


def _is_missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")

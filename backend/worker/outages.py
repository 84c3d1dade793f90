"""What a task's user is told when a dependency fails under it: the storage away (the task
waits), a disk full (which folder, and to retry later), or a storage error (its kind, never the
store's address, bucket, keys or upload ids)."""

from __future__ import annotations

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from backend.errors import InsufficientStorage, disk_full, is_disk_full

STORAGE_WAIT = "The file storage cannot be reached right now"
# A retry is offered as the task's remedy (backend.pipeline.remedies), worded by each door.
RETRY_LATER = "If a retry later fails again, ask an operator to free disk space."
_DISK_FULL_WORDS = ("no space left on device", "os error 28")


def public_message(error: BaseException) -> str:
    """What a user may read of an unexpected error: the storage's own errors name its address,
    bucket, keys and upload ids, so only their kind and code are told."""
    if isinstance(error, (BotoCoreError, ClientError, Boto3Error)):
        code = (
            error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
        )
        return f"the file storage refused the request ({code or type(error).__name__})"
    return f"{type(error).__name__}: {error}"


def disk_full_in(error: BaseException) -> InsufficientStorage | None:
    """A full disk met while processing: ours (InsufficientStorage, naming the folder), an
    OSError, or Polars saying so in its message (it writes in the temporary folder)."""
    if isinstance(error, InsufficientStorage):
        return error
    if is_disk_full(error) or any(w in str(error).lower() for w in _DISK_FULL_WORDS):
        return disk_full("temporary folder")
    return None

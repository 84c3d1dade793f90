"""REST: dataset copies for Druid, by signed URL only (Druid's `http` input source reads them).

Who may call: whoever holds a URL the workers signed (an HMAC over the key and an expiry,
checked in constant time); no principal, no listing, nothing else served.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from backend.deps import RuntimeDep
from backend.druid import urls
from backend.errors import Forbidden, NotFound
from backend.storage.base import check_key

router = APIRouter(prefix=urls.SIGNED_PREFIX.rstrip("/"), tags=["druid"])
_ERROR = {"description": "The error and what to change", "content": {"application/json": {}}}
# Only what the workers sign: Druid copies and (for Parquet input) datasets.
SERVED_PREFIXES = ("druid/", "datasets/")


@router.get(
    "/{key:path}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 403: _ERROR, 404: _ERROR},
    summary="A dataset file for Druid, by a signed, expiring URL (made by the workers)",
)
async def signed_file(
    runtime: RuntimeDep,
    key: Annotated[str, Path(max_length=512)],
    expires: Annotated[str | None, Query(max_length=64)] = None,
    signature: Annotated[str | None, Query(max_length=128)] = None,
) -> StreamingResponse:
    refused = Forbidden(
        "this URL is not valid (wrong signature, or expired)",
        "Dataset URLs are made for Druid by the workers and expire; nothing here is listed.",
    )
    if not key.startswith(SERVED_PREFIXES) or not runtime.signing_key:
        raise refused
    try:
        check_key(key)
    except ValueError:
        raise refused from None
    if not urls.verify(key, expires, signature, runtime.signing_key):
        raise refused
    if not await runtime.store.exists(key):
        raise NotFound("the file is gone", "Retry the ingestion task: the file is written again.")
    return StreamingResponse(runtime.store.read_chunks(key), media_type="application/octet-stream")

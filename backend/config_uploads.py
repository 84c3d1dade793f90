"""Settings of resumable uploads (backend.ingestion.resumable: sessions whose parts go straight
to storage) and of previews (dry runs); part of backend.config.Settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings


class UploadSettings(BaseSettings):
    upload_session_max_mb: Annotated[int, Field(gt=0)] = Field(
        default=50 * 1024,
        description="The largest file an upload session takes (MiB); single-request uploads "
        "keep MAX_UPLOAD_MB",
    )
    upload_part_mb: Annotated[int, Field(ge=5, le=5 * 1024)] = Field(
        default=16,
        description="The size of each part of an upload session (MiB; raised for a file that "
        "would need more than 10,000 parts); S3 needs at least 5",
    )
    upload_session_ttl_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] = Field(
        default=24 * 3600.0,
        description="How long an upload session may stay unfinished; then the janitor removes "
        "its parts",
    )
    upload_sessions_per_principal: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=10, description="Unfinished upload sessions one caller may have at once"
    )
    upload_staged_mb_per_principal: Annotated[int, Field(gt=0)] = Field(
        default=200 * 1024,
        description="The total size (MiB) of one caller's unfinished upload sessions",
    )
    upload_part_url_seconds: Annotated[float, Field(ge=60, le=7 * 86400)] = Field(
        default=900.0, description="How long a part's upload address stays valid"
    )
    s3_public_endpoint_url: str | None = Field(
        default=None,
        description="The S3 endpoint that upload clients reach, named in the part addresses "
        "handed out (default S3_ENDPOINT_URL); set it when the service reaches S3 at an "
        "internal address",
    )
    preview_keep_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] = Field(
        default=24 * 3600.0,
        description="How long a preview's file is kept for confirming it without sending it again",
    )

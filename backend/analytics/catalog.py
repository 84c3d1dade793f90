"""Which datasets make up each datasource (from the task table), and local copies of them."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.ingestion.models import IngestionTask, TaskStatus
from backend.storage import ObjectStore


@dataclass(frozen=True)
class DatasourceVersion:
    """A datasource as of its latest successful ingestion: its datasets and a version tag."""

    name: str
    dataset_keys: tuple[str, ...]
    rows: int
    last_ingestion: dt.datetime | None

    @property
    def version(self) -> str:
        return hashlib.sha1("\n".join(self.dataset_keys).encode()).hexdigest()[:16]


async def load_versions(session: AsyncSession) -> dict[str, DatasourceVersion]:
    rows = (
        await session.execute(
            select(
                IngestionTask.datasource,
                IngestionTask.dataset_key,
                IngestionTask.rows_valid,
                IngestionTask.finished_at,
            )
            .where(
                IngestionTask.status == TaskStatus.SUCCEEDED.value,
                IngestionTask.dataset_key.is_not(None),
            )
            .order_by(IngestionTask.datasource, IngestionTask.created_at, IngestionTask.id)
        )
    ).all()
    grouped: dict[str, list[tuple[str, int, dt.datetime | None]]] = {}
    for datasource, key, count, finished in rows:
        grouped.setdefault(datasource, []).append((str(key), count or 0, finished))
    return {
        name: DatasourceVersion(
            name=name,
            dataset_keys=tuple(k for k, _, _ in items),
            rows=sum(c for _, c, _ in items),
            last_ingestion=max((f for _, _, f in items if f is not None), default=None),
        )
        for name, items in grouped.items()
    }


class DatasetFiles:
    """Local paths of a datasource's Parquet files: the files themselves for a local store, a
    local cache of them for S3 (datasets are immutable once written, so a copy never goes stale)."""

    def __init__(self, store: ObjectStore, cache_dir: Path) -> None:
        self.store = store
        self.cache_dir = cache_dir
        self._locks: dict[str, asyncio.Lock] = {}

    async def paths(self, source: DatasourceVersion) -> list[Path]:
        return [await self._path(key) for key in source.dataset_keys]

    async def _path(self, key: str) -> Path:
        local = self.store.local_path(key)
        if local is not None:
            return local
        target = self.cache_dir / key
        if target.exists():
            return target
        async with self._locks.setdefault(key, asyncio.Lock()):
            if not target.exists():
                await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
                await self.store.get_file(key, partial)
                await asyncio.to_thread(partial.replace, target)
        return target

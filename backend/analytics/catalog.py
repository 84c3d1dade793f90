"""Which datasets make up each datasource (from the task table), and local copies of them."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from backend import threads
from backend.druid.rollup import Choice
from backend.errors import InsufficientStorage, disk_full, is_disk_full
from backend.storage import ObjectStore
from backend.tasks import repository
from backend.tasks.models import TaskStatus

T = TypeVar("T")


@dataclass(frozen=True)
class DatasourceVersion:
    """A datasource as served by one engine: its datasets (in upload order) and a version tag."""

    name: str
    dataset_keys: tuple[str, ...]
    rows: int  # rows loaded; fewer are served when a later upload replaced an interval
    last_ingestion: dt.datetime | None
    # Per dataset: the intervals ("start/end", ISO) that later mode=replace uploads replaced.
    hidden: tuple[tuple[str, ...], ...] = ()
    # What every dataset's Druid rollup holds (dimensions and measures they all have); None when
    # any dataset has no rollup loaded: the Druid engine then reads the raw rows only.
    druid_rollup: Choice | None = None

    @property
    def version(self) -> str:
        text = "\n".join(self.dataset_keys) + "|" + repr(self.hidden)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


async def load_versions(
    session: AsyncSession, statuses: Iterable[TaskStatus] = (TaskStatus.SUCCEEDED,)
) -> dict[str, DatasourceVersion]:
    """Each datasource's datasets from tasks in `statuses` (those an engine can serve)."""
    rows = await repository.stored_datasets(session, statuses)
    grouped: dict[str, list[tuple[str, int, dt.datetime | None, str | None]]] = {}
    rollups: dict[str, list[str | None]] = {}
    for datasource, key, count, finished, replaced, rolled in rows:
        grouped.setdefault(datasource, []).append((str(key), count or 0, finished, replaced))
        rollups.setdefault(datasource, []).append(rolled)
    return {
        name: dataclasses.replace(_version(name, items), druid_rollup=common_rollup(rollups[name]))
        for name, items in grouped.items()
    }


def common_rollup(recorded: list[str | None]) -> Choice | None:
    """The dimensions and measures (same type) that every dataset's rollup has, and the text
    copies every dataset's raw load has (an older load without one: its rows have none)."""
    if not recorded or any(r is None for r in recorded):
        return None
    choices = [Choice.from_json(r) for r in recorded if r is not None]
    first, others = choices[0], choices[1:]
    return Choice(
        tuple(d for d in first.dimensions if all(d in c.dimensions for c in others)),
        tuple(m for m in first.measures if all(m in c.measures for c in others)),
        tuple(t for t in first.texts if all(t in c.texts for c in others)),
    )


def _version(
    name: str, items: list[tuple[str, int, dt.datetime | None, str | None]]
) -> DatasourceVersion:
    hidden: list[list[str]] = [[] for _ in items]
    for position, (_, _, _, replaced) in enumerate(items):
        if replaced:
            for earlier in hidden[:position]:
                earlier.append(replaced)
    return DatasourceVersion(
        name=name,
        dataset_keys=tuple(k for k, _, _, _ in items),
        rows=sum(c for _, c, _, _ in items),
        last_ingestion=max((f for _, _, f, _ in items if f is not None), default=None),
        hidden=tuple(tuple(h) for h in hidden) if any(hidden) else (),
    )


def parse_interval(interval: str) -> tuple[dt.datetime, dt.datetime]:
    start, end = interval.split("/")
    return (
        dt.datetime.fromisoformat(start.replace("Z", "+00:00")),
        dt.datetime.fromisoformat(end.replace("Z", "+00:00")),
    )


CACHE_FOLDER = "cache folder"


async def _in_cache(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """File work in the cache folder, on the files pool; a full disk says which folder is full."""
    try:
        return await threads.FILES.run(function, *args, **kwargs)
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full(CACHE_FOLDER) from exc
        raise


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
                await _in_cache(target.parent.mkdir, parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
                try:
                    await self.store.get_file(key, partial)
                except InsufficientStorage as exc:  # the copy goes to the cache folder
                    await _in_cache(partial.unlink, True)
                    raise disk_full(CACHE_FOLDER) from exc
                await _in_cache(partial.replace, target)
        return target

    async def path(self, key: str) -> Path:
        """The local path of one dataset (fetched into the cache from S3 if need be)."""
        return await self._path(key)

    async def stored_path(self, key: str) -> Path | None:
        """The local path of a derived object (a rollup) when it exists, else None."""
        local = self.store.local_path(key)
        if local is not None:
            return local if await _in_cache(local.is_file) else None
        target = self.cache_dir / key
        if await _in_cache(target.is_file):
            return target
        if not await self.store.exists(key):
            return None
        return await self._path(key)

    async def save(self, key: str, path: Path) -> None:
        """Store a derived object (written at `path`, then removed) under `key`."""
        await self.store.put_file(key, path)
        if self.store.local_path(key) is None:  # S3: keep the copy as the local cache
            target = self.cache_dir / key
            await _in_cache(target.parent.mkdir, parents=True, exist_ok=True)
            await _in_cache(path.replace, target)
        else:
            await _in_cache(path.unlink, True)

    def scratch(self) -> Path:
        """A fresh path for a file being written (in the cache folder, so a rename is cheap)."""
        return self.cache_dir / ".scratch" / f"{uuid.uuid4().hex}.parquet"

"""What a running process holds: settings, database, object store and (optionally) workers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from backend import migrations
from backend.analytics.cache import QueryCache
from backend.analytics.catalog import DatasetFiles
from backend.analytics.embedded import EmbeddedEngine
from backend.analytics.service import Analytics
from backend.config import Settings
from backend.db import SessionMaker, create_engine, create_sessionmaker
from backend.ingestion.worker import WorkerPool
from backend.storage import ObjectStore, create_store

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionMaker
    store: ObjectStore
    analytics: Analytics
    reader: AsyncEngine | None = None  # read-only engine for analytics (SQLite: deferred BEGIN)
    workers: WorkerPool | None = None
    _started: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        sessions = create_sessionmaker(engine)
        reader = (
            create_engine(settings.database_url, read_only=True) if settings.is_sqlite else engine
        )
        store = create_store(settings)
        files = DatasetFiles(store, Path(settings.cache_dir) / "datasets")
        cache = QueryCache(settings.analytics_cache_entries, settings.analytics_cache_ttl_seconds)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            store=store,
            analytics=Analytics(create_sessionmaker(reader), EmbeddedEngine(files), cache),
            reader=reader,
        )

    async def start(self, *, with_workers: bool) -> None:
        if self.settings.auto_migrate:
            await asyncio.to_thread(migrations.upgrade, self.settings.database_url)
        await self.store.check()
        if with_workers and self.settings.worker_concurrency > 0:
            self.workers = WorkerPool(
                self.settings, self.sessions, self.store, self.analytics.landed
            )
            self.workers.start()
        self._started = True
        log.info(
            "ready: database %s, storage %s, %d worker(s)",
            self.engine.url.render_as_string(hide_password=True),
            self.store.description,
            self.settings.worker_concurrency if self.workers else 0,
        )

    def wake_workers(self) -> None:
        if self.workers is not None:
            self.workers.wake()

    async def stop(self) -> None:
        if self.workers is not None:
            await self.workers.stop()
            self.workers = None
        await self.engine.dispose()
        if self.reader is not None and self.reader is not self.engine:
            await self.reader.dispose()

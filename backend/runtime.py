"""What a running process holds: settings, database, object store and (optionally) workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import migrations, priority, threads
from backend.actions import secrets as action_secrets
from backend.actions.kinds import Services
from backend.actions.mail import Mailer
from backend.actions.outbound.client import OutboundClient
from backend.actions.secrets import Cipher
from backend.actions.worker import ActionRuns
from backend.analytics.cache import QueryCache
from backend.analytics.catalog import DatasetFiles
from backend.analytics.druid_engine import DruidEngine
from backend.analytics.embedded import EmbeddedEngine
from backend.analytics.service import Analytics
from backend.auth import secrets, tokens, users
from backend.auth import service as auth_service
from backend.auth.limits import Limits
from backend.auth.oidc import OidcVerifier, looks_like_jwt
from backend.auth.principal import Principal
from backend.config import Settings
from backend.db import SessionMaker, create_engine, create_sessionmaker, session_scope
from backend.druid.client import DruidClient
from backend.errors import DependencyUnavailable
from backend.ingestion.intake import Intake
from backend.ingestion.resumable import expiry
from backend.monitoring import audit, tracing
from backend.monitoring.application import Metrics
from backend.monitoring.liveness import LoopLag
from backend.monitoring.models import SigmaSetting
from backend.monitoring.single_flight import SingleFlight
from backend.storage import ObjectStore, create_store, parts
from backend.storage.space import SpaceGuard
from backend.tasks import live
from backend.worker.pool import WorkerPool
from backend.worker.runner import DruidAccess

log = logging.getLogger(__name__)
PROBE_KEEP = 2.0  # seconds a storage probe's result answers health calls
SLOW_STOP_STEP_SECONDS = 2.0  # a step of the stop that takes this long is said in the log


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionMaker
    store: ObjectStore
    analytics: Analytics
    reader: AsyncEngine | None = None  # read-only engine for analytics (SQLite: deferred BEGIN)
    read_sessions: SessionMaker | None = None  # sessions of `reader`
    druid: DruidClient | None = None  # when DRUID_URL is set
    signing_key: bytes = b""  # HMAC key of the dataset URLs Druid reads (set by start())
    space: SpaceGuard | None = None  # keeps MIN_FREE_DISK_MB free for uploads
    limits: Limits = field(default_factory=lambda: Limits(0, 0))
    oidc: OidcVerifier | None = None
    token_cache: auth_service.TokenCache = field(default_factory=auth_service.TokenCache)
    wakeups: live.Wakeups = field(default_factory=live.Wakeups)
    listener: live.Listener | None = None
    workers: WorkerPool | None = None
    metrics: Metrics = field(default_factory=Metrics)  # this process's (backend.monitoring)
    refusals: audit.RecentRefusals = field(default_factory=audit.RecentRefusals)
    # Health's storage probe: one in flight at a time, its result kept for a moment.
    storage_probe: SingleFlight[Any] = field(default_factory=lambda: SingleFlight(PROBE_KEEP))
    loop_lag: LoopLag = field(default_factory=LoopLag)
    cipher: Cipher | None = None  # seals actions' secrets (set by start())
    action_services: Services | None = None  # what actions' kinds use (set by start())
    _started: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, settings: Settings, metrics: Metrics | None = None) -> Runtime:
        metrics = metrics or Metrics()
        threads.STORAGE.resize(settings.storage_threads)
        wait = settings.database_wait_seconds
        engine = create_engine(settings.database_url, wait_seconds=wait)
        sessions = create_sessionmaker(engine)
        reader = (
            create_engine(settings.database_url, read_only=True, wait_seconds=wait)
            if settings.is_sqlite
            else engine
        )
        tracing.instrument_database([engine, reader])
        store = create_store(settings)
        files = DatasetFiles(store, Path(settings.cache_dir) / "datasets")
        cache = QueryCache(settings.analytics_cache_entries, settings.analytics_cache_ttl_seconds)
        druid = (
            DruidClient(
                settings.druid_url,
                query_url=settings.druid_broker_url,
                timeout=settings.druid_request_timeout_seconds,
                metrics=metrics.registry,
            )
            if settings.druid_url
            else None
        )
        druid_engine = DruidEngine(druid, settings.druid_datasource_prefix) if druid else None
        read_sessions = create_sessionmaker(reader)
        analytics = Analytics(
            read_sessions,
            EmbeddedEngine(files, settings.analytics_threads),
            cache,
            druid=druid_engine,
            read_mode=serving_engine,
            metrics=metrics.registry,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            store=store,
            analytics=analytics,
            reader=reader,
            read_sessions=read_sessions,
            druid=druid,
            space=SpaceGuard(store, settings.min_free_disk_bytes),
            limits=Limits(
                settings.rate_limit_per_minute,
                settings.uploads_in_flight,
                settings.sign_in_attempts_per_name,
                settings.sign_in_attempts_per_address,
            ),
            oidc=OidcVerifier(settings.oidc) if settings.oidc else None,
            metrics=metrics,
        )

    async def start(self, *, with_workers: bool) -> None:
        priority.lower_polars_pool()
        self.loop_lag.start()
        if self.settings.auto_migrate:
            await asyncio.to_thread(migrations.upgrade, self.settings.database_url)
        await self.store.check()
        secret = self.settings.signing_secret
        self.signing_key = (
            secret.get_secret_value().encode()
            if secret is not None
            else await secrets.load_or_create(self.sessions, secrets.URL_SIGNING)
        )
        self.cipher = await action_secrets.cipher(self.settings, self.sessions)
        self.action_services = self._action_services()
        if with_workers and self.settings.worker_concurrency > 0:
            druid = DruidAccess(self.druid, self.signing_key) if self.druid else None
            self.workers = WorkerPool(
                self.settings,
                self.sessions,
                self.store,
                self.analytics.landed,
                druid,
                metrics=self.metrics.registry,
                sources=[ActionRuns(self.action_services, self.cipher)],
                chores=[self._expire_upload_sessions],
            )
            await self.workers.start()
        if self.listener is None:
            self.listener = live.Listener(self.engine, self.wakeups)
            self.listener.start()
        self._started = True
        log.info(
            "ready: database %s, storage %s, %d worker(s)",
            self.engine.url.render_as_string(hide_password=True),
            self.store.description,
            self.settings.worker_concurrency if self.workers else 0,
        )

    def _action_services(self) -> Services:
        settings = self.settings
        outbound = OutboundClient(
            settings.actions_allowed_hosts,
            timeout_seconds=settings.actions_http_timeout_seconds,
            max_redirects=settings.actions_max_redirects,
            download_min_rate=settings.actions_download_min_kb_per_s * 1024,
        )
        return Services(
            settings=settings,
            sessions=self.sessions,
            read_sessions=self.reading(),
            intake=self.intake(),
            analytics=self.analytics,
            store=self.store,
            outbound=outbound,
            mailer=Mailer(settings),
            wake_workers=self.wake_workers,
        )

    async def _expire_upload_sessions(self) -> int:
        return await expiry.expire_sessions(self.sessions, parts.target(self.store, self.settings))

    def intake(self) -> Intake:
        """Where uploads go and their bounds, for each door that takes them."""
        return Intake(
            self.store,
            self.settings.max_upload_bytes,
            self.space,
            self.limits,
            self.metrics.registry,
            self.settings.max_column_name_chars,
        )

    def reading(self) -> SessionMaker:
        """Sessions for reads only: on SQLite they never take the write lock, so a read cannot
        wait behind (or block) a request's or a worker's write transaction."""
        return self.read_sessions or self.sessions

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a bearer token: a JWT from the configured identity provider, or one
        of our API tokens; None when it is neither valid one."""
        is_jwt = self.oidc is not None and looks_like_jwt(token)
        if not is_jwt and not tokens.well_formed(token):
            return None
        digest, now = tokens.digest(token), time.monotonic()
        cached = self.token_cache.get(digest, now)
        if cached is not None:
            return cached
        try:
            found = await (self._jwt_user(token) if is_jwt else self._lookup(token))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("a token could not be checked: %s", type(exc).__name__)
            raise DependencyUnavailable(
                "credentials cannot be checked: the metadata database does not answer",
                "Try again shortly (Retry-After says when); /readyz says when the service is "
                "ready again.",
            ) from exc
        if found is None:
            return None
        if found.stale:
            await self._touch(found.token_id)
        self.token_cache.put(digest, found, now)
        return found.principal

    async def _lookup(self, token: str) -> auth_service.Found | None:
        async with session_scope(self.reading()) as session:
            return await auth_service.lookup(session, token)

    async def _jwt_user(self, token: str) -> auth_service.Found | None:
        """A verified JWT's principal: its subject's user (created the first time it signs
        in), refused while that user is disabled."""
        assert self.oidc is not None
        identity = await self.oidc.identity(token)
        if identity is None:
            return None
        try:
            async with session_scope(self.sessions) as session:
                user = await users.for_subject(
                    session, identity.subject, identity.username, identity.role
                )
        except IntegrityError:  # its first two requests raced: the other one created it
            async with session_scope(self.sessions) as session:
                user = await users.for_subject(
                    session, identity.subject, identity.username, identity.role
                )
        if user.disabled_at is not None:
            return None
        principal = Principal(
            id=f"jwt:{identity.subject}",
            name=user.name,
            role=identity.role,
            kind="jwt",
            user=user.id,
        )
        return auth_service.Found(principal, "", identity.expires_at, stale=False)

    async def _touch(self, token_id: str) -> None:
        """Records when a token was last used: best effort, a busy database does not refuse the
        request for it (the next lookup after the cache expires tries again)."""
        try:
            async with session_scope(self.sessions) as session:
                await auth_service.touch(session, token_id)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("a token's last use could not be recorded: %s", type(exc).__name__)

    def wake_workers(self) -> None:
        if self.workers is not None:
            self.workers.wake()

    async def stop(self) -> None:
        with _stopping("the event loop's lag probe"):
            await self.loop_lag.stop()
        if self.listener is not None:
            with _stopping("the database listener"):
                await self.listener.stop()
            self.listener = None
        if self.workers is not None:
            with _stopping("the workers"):
                await self.workers.stop()
            self.workers = None
        if self.druid is not None:
            with _stopping("the Druid client"):
                await self.druid.close()
        if self.action_services is not None:
            with _stopping("the actions' outbound client"):
                await self.action_services.outbound.aclose()
            self.action_services = None
        with _stopping("the rollups being prepared"):
            await self.analytics.stop_preparing()
        if isinstance(self.analytics.embedded, EmbeddedEngine):
            with _stopping("the embedded engine"):
                await self.analytics.embedded.aclose()
        with _stopping("the database connections"):
            await self.engine.dispose()
            if self.reader is not None and self.reader is not self.engine:
                await self.reader.dispose()
        with _stopping("the storage and file threads"):
            await threads.drain()  # last: the steps above may still use the storage threads


@contextlib.contextmanager
def _stopping(step: str) -> Iterator[None]:
    """A step of a runtime's stop, said in the log when it is slow: a process told to stop
    (SIGTERM) has a few seconds before it is killed, and the log names what held it."""
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    if took >= SLOW_STOP_STEP_SECONDS:
        log.warning("stopping %s took %.1f s", step, took)


async def serving_engine(session: AsyncSession) -> str:
    """The engine the Sigma mode selects: Druid in `warehouse` mode, else the embedded one."""
    setting = await session.get(SigmaSetting, 1)
    return "druid" if setting is not None and setting.mode == "warehouse" else "embedded"

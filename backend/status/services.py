"""What the status pages read, as a protocol: the running service hands itself in (the
composition root, `backend.runtime.Runtime`, has every attribute named here), so status code never
imports the composition root and a test can hand in exactly what it measures."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.analytics.service import Analytics
from backend.config import Settings
from backend.db import SessionMaker
from backend.druid.client import DruidClient
from backend.monitoring.single_flight import SingleFlight
from backend.storage import ObjectStore


class Services(Protocol):
    """The parts of the running service that health, performance and Sigma mode read."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> AsyncEngine: ...

    def reading(self) -> SessionMaker: ...

    @property
    def store(self) -> ObjectStore: ...

    @property
    def druid(self) -> DruidClient | None: ...

    @property
    def analytics(self) -> Analytics: ...

    @property
    def storage_probe(self) -> SingleFlight[Any]: ...

"""Work other than ingestion tasks that the workers take (actions' runs): a source hands a slot
a job it has claimed with a lease, and is ticked now and then (schedules, events). Protocols
only: backend.worker cannot import the packages above it that implement them."""

from __future__ import annotations

from typing import Protocol


class Job(Protocol):
    """A claimed piece of work; `run` keeps its lease and ends it (never raises on a failure
    of the work itself: it records it)."""

    async def run(self) -> None: ...


class JobSource(Protocol):
    name: str

    async def claim(self, owner: str) -> Job | None:
        """A job claimed for the slot `owner`, or None when there is none to do."""
        ...

    async def tick(self) -> None:
        """Called every ACTIONS_TICK_SECONDS by each worker process."""
        ...

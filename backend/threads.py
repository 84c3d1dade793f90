"""Bounded thread pools for blocking I/O, one per kind of dependency, so one that stalls cannot
starve the others: `STORAGE` (the object store: boto3 calls, the local store's files), `FILES`
(this process's own files: the web app, the dataset cache, free-space checks), `PASSWORDS`
(Argon2 hashes), `MAIL` (the mail server reports are sent through), `DNS` (actions' host name
look-ups, which an attacker's name server can stall for seconds each). CPU-heavy work
(validation, Polars) runs in backend.priority's and the embedded engine's pools; the event loop's
default pool is left to libraries (a stalled S3 once held all of its threads, and every route
that read a file waited behind it)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Pool:
    """A thread pool of `workers` threads; calls run in the caller's context (its log ids and
    trace span go along, as with asyncio.to_thread)."""

    def __init__(self, name: str, workers: int) -> None:
        self.name = name
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0

    def resize(self, workers: int) -> None:
        """Set the pool's size (at start-up, from Settings): calls made later use the new pool."""
        if workers != self.workers:
            old, self._executor = self._executor, ThreadPoolExecutor(workers, self.name)
            self.workers = workers
            old.shutdown(wait=False)

    async def drain(self) -> None:
        """Wait for the calls this pool has started (later calls go to a fresh pool). Its
        threads must be done before the interpreter exits: at exit, concurrent.futures stops
        every pool's idle threads and then joins all threads, so a storage call still waiting
        for boto3's own transfer threads (stopped first) waited forever, and a worker
        process told to stop with SIGTERM never exited."""
        old, self._executor = self._executor, ThreadPoolExecutor(self.workers, self.name)
        await asyncio.to_thread(old.shutdown, wait=True, cancel_futures=True)

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        """Calls queued for a thread: every thread is busy."""
        return self._waiting

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        context = contextvars.copy_context()
        started = threading.Event()
        call = functools.partial(context.run, self._counted, started, function, *args, **kwargs)
        with self._lock:
            self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        finally:
            with self._lock:
                if not started.is_set():  # cancelled while it waited for a thread
                    started.set()
                    self._waiting -= 1

    def _counted(
        self, started: threading.Event, function: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> T:
        with self._lock:
            if started.is_set():  # its caller gave up waiting: nothing to run
                raise asyncio.CancelledError
            started.set()
            self._waiting -= 1
            self._running += 1
        try:
            return function(*args, **kwargs)
        finally:
            with self._lock:
                self._running -= 1


STORAGE = Pool("storage", 16)
FILES = Pool("files", 8)
# Argon2 password hashes (sign-in, password changes): CPU-bound by design (tens of milliseconds
# each), so off the event loop and two at a time; more attempts wait their turn.
PASSWORDS = Pool("passwords", 2)
# Reports' e-mail (smtplib: one blocking conversation with the mail server per report).
MAIL = Pool("mail", 2)
# Actions' outbound look-ups (socket.getaddrinfo): a few at a time, so names whose servers never
# answer wait for each other (each caller gives up at its time-out) and hold no other pool.
DNS = Pool("dns", 4)


async def drain() -> None:
    """Every pool's started calls finished (at a runtime's stop)."""
    await asyncio.gather(*(pool.drain() for pool in (STORAGE, FILES, MAIL, DNS)))


def snapshot() -> dict[str, dict[str, int]]:
    """Each pool's size, threads busy and calls waiting, for health and metrics."""
    return {
        pool.name: {"threads": pool.workers, "running": pool.running, "waiting": pool.waiting}
        for pool in (STORAGE, FILES, MAIL, DNS)
    }

"""CPU priority: the event loop thread answers every request (liveness included), so the threads
that do heavy work (Polars' pool, analytics and file processing) run at a lower priority (Linux
nice +10 per thread). Under full load the loop still gets the CPU it needs at once; the heavy
work gets the rest. Elsewhere than Linux this is a no-op."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from backend.errors import EnginePanic

T = TypeVar("T")
NICE = 10


def lower_this_thread() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


def heavy_executor(name: str, workers: int) -> ThreadPoolExecutor:
    """A thread pool for heavy work whose threads run at the lower priority."""
    return ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix=name, initializer=lower_this_thread
    )


def lower_polars_pool() -> None:
    """Polars computes in a pool of its own threads ('polars-N'): lower them too."""
    if not sys.platform.startswith("linux"):
        return
    pl.thread_pool_size()  # the pool exists once Polars is used; make sure it is there
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if (task / "comm").read_text().startswith("polars-"):
                os.setpriority(os.PRIO_PROCESS, int(task.name), NICE)


_HEAVY = heavy_executor("heavy", max(2, os.cpu_count() or 2))


async def run_heavy(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run blocking, CPU-heavy work (validation, file conversion) off the event loop, at the
    lower priority."""
    loop = asyncio.get_running_loop()
    # In the caller's context, as asyncio.to_thread runs: its log ids and trace span go along.
    context = contextvars.copy_context()
    call = functools.partial(context.run, unpanicked, function, *args, **kwargs)
    return await loop.run_in_executor(_HEAVY, call)


def unpanicked(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call `function`; a Polars panic comes out as EnginePanic, an ordinary exception that every
    handler of unexpected errors catches (a panic derives from BaseException)."""
    try:
        return function(*args, **kwargs)
    except pl.exceptions.PanicException as exc:
        raise EnginePanic(f"the data engine failed: {str(exc)[:200]}") from None

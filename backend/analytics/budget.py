"""What one request may spend on analytics: engine time, result size and parallel queries.

One GraphQL request can ask for the same expensive field a hundred times under aliases. Each
request carries a Budget: its engine queries run at most `parallel` at a time, each within the
time left, and every result (cached or not) is counted in cells (rows x columns); past either
limit the remaining fields fail with QUERY_BUDGET_EXCEEDED instead of holding the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from backend.errors import InvalidInput

T = TypeVar("T")


class BudgetExceeded(InvalidInput):
    code = "query_budget_exceeded"


@dataclass
class Budget:
    seconds: float
    cells: int
    parallel: int = 2
    started: float = field(default_factory=time.monotonic)
    spent_cells: int = 0
    _slots: asyncio.Semaphore | None = field(default=None, repr=False)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def _out_of_time(self) -> BudgetExceeded:
        return BudgetExceeded(
            f"this request used its {self.seconds:.0f} s of analytics time",
            "Ask for fewer fields or aliases in one request, a shorter date range or a coarser "
            "granularity; repeated identical requests are answered from the cache.",
        )

    def spend(self, cells: int) -> None:
        """Count `cells` of output; refuse once the request's result would be too large."""
        self.spent_cells += cells
        if self.spent_cells > self.cells:
            raise BudgetExceeded(
                f"this request's results exceed {self.cells:,} values (rows x columns)",
                "Ask for fewer fields or aliases in one request, smaller pages (first, limit) "
                "or a coarser granularity.",
            )

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one engine query within the request's parallelism and time left."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.parallel)
        async with self._slots:
            left = self.remaining()
            if left <= 0:
                raise self._out_of_time()
            try:
                return await asyncio.wait_for(work(), left)
            except TimeoutError:
                raise self._out_of_time() from None

"""A bounded LRU cache with a time to live for query results, dropped per datasource."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class _Entry:
    expires: float
    datasource: str
    value: Any


class QueryCache:
    def __init__(self, max_entries: int = 2048, ttl_seconds: float = 300.0) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None or entry.expires < time.monotonic():
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return False, None
        self._entries.move_to_end(key)
        self.hits += 1
        return True, entry.value

    def put(self, key: str, datasource: str, value: Any) -> None:
        self._entries[key] = _Entry(time.monotonic() + self.ttl_seconds, datasource, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, datasource: str) -> int:
        stale = [k for k, e in self._entries.items() if e.datasource == datasource]
        for key in stale:
            del self._entries[key]
        return len(stale)

    def __len__(self) -> int:
        return len(self._entries)

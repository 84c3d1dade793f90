"""The unique key's values in the datasets a datasource already holds (a key loaded once may
not come again), read once per stored dataset and kept in a bounded cache."""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from backend.contracts.schema import TIME, DatasetSchema
from backend.druid.spec import replaced
from backend.pipeline.outcome import Outcome


class _KeyCache:
    """The unique key's encoded values per stored dataset. Datasets never change once written,
    so each is read once per process; a new upload then reads only what landed since."""

    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self._found: collections.OrderedDict[tuple[str, str], pl.Series] = collections.OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def keys(self, path: Path, column: str, encode: pl.Expr) -> pl.Series:
        entry = (str(path), column)
        with self._lock:
            if entry in self._found:
                self._found.move_to_end(entry)
                return self._found[entry]
        found = pl.scan_parquet(path).select(encode.alias("key")).collect().to_series()
        with self._lock:
            self._found[entry] = found
            self._size += len(found)
            while self._size > self.max_values and len(self._found) > 1:
                _, dropped = self._found.popitem(last=False)
                self._size -= len(dropped)
        return found


_KEYS = _KeyCache(max_values=50_000_000)  # 8 bytes each for sales: at most ~400 MB


def loaded_keys(schema: DatasetSchema, loaded: Sequence[Path]) -> pl.Series | None:
    """The unique key's values in the datasets already loaded, encoded as the validator does."""
    if schema.unique is None or not loaded:
        return None
    encode = pl.col(schema.unique) if schema.unique_encoding is None else schema.unique_encoding
    parts = [_KEYS.keys(path, schema.unique, encode) for path in loaded]
    return pl.concat(parts, rechunk=False) if parts else None


def keys_outside(outcome: Outcome, loaded: Sequence[Path]) -> pl.Series | None:
    """The keys of rows loaded outside the interval a replace upload replaces, when some of the
    upload's valid rows hold one of them (else None)."""
    schema, dataset = outcome.schema, outcome.dataset
    if schema is None or dataset is None or schema.unique is None or not loaded:
        return None
    if outcome.time_range is None:
        return None
    start, end = replaced(*outcome.time_range)
    encode = pl.col(schema.unique) if schema.unique_encoding is None else schema.unique_encoding
    kept = (pl.col(TIME) < start) | (pl.col(TIME) >= end)
    outside = pl.concat(
        [pl.scan_parquet(p).filter(kept).select(encode.alias("key")) for p in loaded]
    ).collect()["key"]
    mine = pl.scan_parquet(dataset).select(encode.alias("key")).collect()["key"]
    return outside if bool(mine.is_in(outside.implode()).any()) else None

"""How the service writes a normalized dataset's Parquet: one set of writer settings for the
one-pass plans and the batch path, so a file gives the same bytes whichever path loaded it."""

from __future__ import annotations

from typing import Any

# zstd at level 1: within a few percent of the smallest files at a fraction of the cost of
# higher levels (bench/RESULTS.md, "Ingest in one pass").
SINK_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}

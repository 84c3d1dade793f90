"""How the service writes a normalized dataset's Parquet: one set of writer settings for the
one-pass plans and the batch path, so a file gives the same bytes whichever path loaded it."""

from __future__ import annotations

from typing import Any

# zstd at level 1: within a few percent of the smallest files at a fraction of the cost of
# higher levels (bench/RESULTS.md, "Ingest in one pass").
SINK_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 1}

# Rows per morsel of the Parquet one pass (backend/pipeline/fast_parquet.py): measured on a
# 5M-row file of text columns, Polars' default peaked at 630-680 MiB, 20,000 at 410-450 MiB
# with the same CPU time; the CSV pass gains nothing from it and keeps the default.
PARQUET_CHUNK_ROWS = 20_000

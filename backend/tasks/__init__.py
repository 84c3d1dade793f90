"""Ingestion tasks: their records and statuses, their event history, and the live stream of
their changes."""

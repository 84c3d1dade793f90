"""Ingestion tasks: their records and statuses, their lifecycle (the one place a status changes),
the queries on them, their event history, and the live stream of their changes."""

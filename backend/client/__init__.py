"""The command-line client of a running service (`sales-ingest`)."""

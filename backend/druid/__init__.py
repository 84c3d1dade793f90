"""Apache Druid: ingestion specs (and, next, the HTTP client and the Druid SQL engine)."""

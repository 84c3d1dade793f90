"""Apache Druid: the HTTP client, ingestion specs, Druid SQL quoting and the signed URLs through
which Druid reads our dataset copies. The Druid query engine is `backend.analytics.druid_engine`;
the load phase of an upload is `backend.druid_load`."""

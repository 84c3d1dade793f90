"""Upload sessions (backend.ingestion.resumable)."""

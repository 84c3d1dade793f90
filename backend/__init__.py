"""Sales data ingestion and analytics service."""

"""Imports every model module so Base.metadata knows all tables (used by alembic)."""

from backend.ingestion import models as ingestion_models
from backend.monitoring import models as monitoring_models

__all__ = ["ingestion_models", "monitoring_models"]

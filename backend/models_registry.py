"""Imports every model module so Base.metadata knows all tables (used by alembic)."""

from backend.actions import models as action_models
from backend.auth import models as auth_models
from backend.contracts import stored as contract_models
from backend.events import models as event_models
from backend.ingestion import models as ingestion_models
from backend.ingestion.resumable import models as resumable_models
from backend.monitoring import models as monitoring_models
from backend.notifications import models as notification_models
from backend.tasks import models as task_models
from backend.workbooks import models as workbook_models

__all__ = [
    "action_models",
    "auth_models",
    "contract_models",
    "event_models",
    "ingestion_models",
    "resumable_models",
    "monitoring_models",
    "notification_models",
    "task_models",
    "workbook_models",
]

"""GraphQL: the service's settings the app shows figures with (the currency of money figures).
Read by every signed-in page at start: no arguments, a few bytes, no database."""

from __future__ import annotations

import strawberry

from backend.schema.context import Info
from backend.schema.permissions import IsViewer


@strawberry.type(description="How the service's figures are shown.")
class ServiceSettings:
    currency: str | None = strawberry.field(
        description="The ISO 4217 code of the data's money figures (CURRENCY), or null for "
        "plain numbers."
    )


@strawberry.type
class ServiceSettingsQuery:
    @strawberry.field(permission_classes=[IsViewer])
    def service_settings(self, info: Info) -> ServiceSettings:
        return ServiceSettings(currency=info.context.runtime.settings.currency)

"""Who is calling, as every route and field sees it."""

from __future__ import annotations

from dataclasses import dataclass

from backend.auth.roles import Role


@dataclass(frozen=True)
class Principal:
    """`id` is stable and recorded on what the caller creates (tasks) and does (audit log);
    `name` is what people read: for tokens and JWTs their user's handle, which owners and
    grants record. `role` None: known to no one (anonymous, no role granted)."""

    id: str
    name: str
    role: Role | None
    kind: str  # "token", "jwt", "session" (a browser's cookie) or "anonymous"
    user: str | None = None  # the id of the user it stands for (tokens, JWTs, sessions)

    def allows(self, needed: Role) -> bool:
        return self.role is not None and self.role.allows(needed)

    @property
    def label(self) -> str:
        """How the audit log names the caller: readable and unambiguous."""
        return (
            self.name if self.kind in ("anonymous", "system") else f"{self.name} ({self.id})"[:128]
        )


def anonymous(role: Role | None, address: str | None = None) -> Principal:
    """A caller without credentials; rate limits count them by address."""
    return Principal(
        id=f"anonymous@{address or 'unknown'}", name="anonymous", role=role, kind="anonymous"
    )


# Work the service does on its own behalf (seeding, the CLI run by an operator on the machine).
SYSTEM = Principal(id="system", name="system", role=Role.ADMIN, kind="system")

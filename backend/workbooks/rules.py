"""Who may see, save, share, change and delete a workbook. Every door asks here; a workbook the
caller may not see does not exist for them (404, never 403)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select, true

from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.workbooks.models import Workbook, WorkbookShare


def is_admin(principal: Principal) -> bool:
    return principal.allows(Role.ADMIN)


def can_see(principal: Principal, workbook: Workbook, shared_with: list[str]) -> bool:
    """private: its owner; shared: every signed-in principal; users: its owner and the handles
    named. Admins see every workbook (they may change or delete any)."""
    if is_admin(principal) or workbook.owner == principal.name:
        return True
    if principal.role is None:
        return False
    if workbook.visibility == "shared":
        return True
    return workbook.visibility == "users" and principal.name in shared_with


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """The same rule as `can_see`, as a WHERE clause over `workbooks`."""
    return true() if is_admin(principal) else seen_as_person(principal)


def seen_as_person(principal: Principal) -> ColumnElement[bool]:
    """What the caller sees as a person, whatever their role: their own workbooks, shared ones,
    and those shared with them by name (a public profile lists these, never another person's
    private ones, even to an admin)."""
    shared_with_me = exists(
        select(WorkbookShare.workbook_id).where(
            WorkbookShare.workbook_id == Workbook.id, WorkbookShare.handle == principal.name
        )
    )
    return or_(
        Workbook.owner == principal.name,
        Workbook.visibility == "shared",
        (Workbook.visibility == "users") & shared_with_me,
    )


def not_found(workbook_id: str) -> NotFound:
    return NotFound(
        f"there is no workbook {workbook_id[:40]!r} you may see",
        "List the workbooks you may see with GET /api/workbooks.",
    )


def require_editor(principal: Principal, workbook: Workbook) -> None:
    """Only its owner or an admin changes or deletes a workbook (the caller already sees it)."""
    if workbook.owner != principal.name and not is_admin(principal):
        raise Forbidden(
            f"only the workbook's owner ({workbook.owner}) or an admin may change or delete it",
            "Save a copy of it as a workbook of your own.",
        )


def require_may_share(principal: Principal, visibility: str, shared_with: list[str]) -> None:
    """Viewers may keep private workbooks; sharing one (a visibility other than private, or
    handles to share it with) needs the uploader role."""
    if (visibility != "private" or shared_with) and not principal.allows(Role.UPLOADER):
        what = f"visibility {visibility}" if visibility != "private" else "shared_with"
        raise Forbidden(
            f"sharing a workbook ({what}) needs the uploader role; this token "
            f"has {principal.role.value if principal.role else 'no role'}",
            "Save it as private, or ask an admin for an uploader token.",
        )


def require_shares_fit(visibility: str, shared_with: list[str]) -> None:
    """Handles to share with belong to a workbook shared with named users, and to no other."""
    if shared_with and visibility != "users":
        raise InvalidInput(
            f"shared_with names the people of a workbook whose visibility is users, not "
            f"{visibility}",
            'Set visibility to "users" to share it with them, or leave shared_with out.',
        )

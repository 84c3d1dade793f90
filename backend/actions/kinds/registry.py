"""Which module executes which kind: found by name when a run needs it, so a kind whose module
is missing (not installed in this build) fails its runs with a sentence, not the process."""

from __future__ import annotations

import importlib
import logging
from typing import cast

from backend.actions.kinds import Executor
from backend.actions.models import ActionKind

log = logging.getLogger(__name__)

MODULES: dict[str, str] = {
    ActionKind.IMPORT.value: "backend.actions.kinds.imports",
    ActionKind.WEBHOOK.value: "backend.actions.kinds.webhook",
    ActionKind.ALERT.value: "backend.actions.kinds.alert",
    ActionKind.REPORT.value: "backend.actions.kinds.report",
}
# Executors registered in this process before the modules (tests register their own).
_REGISTERED: dict[str, Executor] = {}


def register(kind: str, executor: Executor) -> None:
    _REGISTERED[kind] = executor


def unregister(kind: str) -> None:
    _REGISTERED.pop(kind, None)


def executor_for(kind: str) -> Executor | None:
    """The kind's `execute`, or None when this build has no module for it."""
    if kind in _REGISTERED:
        return _REGISTERED[kind]
    name = MODULES.get(kind)
    if name is None:
        return None
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        log.warning("the action kind %s has no module (%s) in this build", kind, name)
        return None
    execute = getattr(module, "execute", None)
    return cast(Executor, execute) if execute is not None else None

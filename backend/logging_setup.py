"""Process-wide logging from LOG_LEVEL."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_backend", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._backend = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)

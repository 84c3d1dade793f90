"""Runs alembic migrations programmatically (start-up, `python -m backend migrate`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command

# The repository (editable installs) or the working directory (installed images) holds alembic/.
ROOT = next(
    (
        p
        for p in (Path(__file__).resolve().parent.parent, Path.cwd())
        if (p / "alembic.ini").is_file()
    ),
    Path.cwd(),
)


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str) -> None:
    """Blocking: call from a thread (it runs its own event loop)."""
    command.upgrade(alembic_config(database_url), "head")

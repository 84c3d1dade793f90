"""The core package's fixtures (a started runtime without workers), for the review's tests."""

from tests.actions.core.conftest import runtime

__all__ = ["runtime"]

"""Roles, from least to most: each role may do what the roles below it may."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    VIEWER = "viewer"  # reads dashboards, tasks and status
    UPLOADER = "uploader"  # also uploads, and retries or cancels its own tasks
    ADMIN = "admin"  # everything: Sigma mode, others' tasks, access logs, performance, tokens

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

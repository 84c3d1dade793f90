"""What scrub leaves in a message a user reads: the service's own API paths (messages name them
as what to do) stay whole, server folders do not. Found by a hostile probe: a disk_full task
said "POST <path><id>/retry"."""

from __future__ import annotations

import pytest

from backend.redaction import scrub


@pytest.mark.parametrize(
    "door",
    [
        "POST /api/ingest/tasks/ID/retry",
        "GET /api/ingest/tasks",
        "PUT /api/datasources/sales/grants/NAME",
        "GET /api/datasources/sales",
        "/api/health",
    ],
)
def test_the_services_own_api_paths_are_read_whole(door: str) -> None:
    message = f"Retry it later ({door}); ask an operator."
    assert scrub(message) == message


@pytest.mark.parametrize(
    "folder", ["/var/lib/sales/x.db", "/tmp/ingest-1/source", "/srv/api/ingest/x", "/api/x/y"]
)
def test_server_folders_are_still_hidden(folder: str) -> None:
    assert scrub(f"cannot open {folder}: denied") == "cannot open <path>: denied"

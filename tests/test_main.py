"""`python -m backend seed FILE`: the file is queued for the datasource through the same intake as
the APIs' uploads (stored under a safe key, its format recognised), and only while the
datasource has no data."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.__main__ import seed
from backend.db import session_scope
from backend.ingestion import service as ingestion_service
from backend.runtime import Runtime
from tests.conftest import Backend
from tests.factories import sales_csv


async def test_seed_queues_the_file_once(
    embedded: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backend.__main__.get_settings", lambda: embedded.settings)
    data = tmp_path / "données.csv"
    data.write_bytes(sales_csv(rows=5))

    await seed(data, "sales")
    await seed(data, "sales")  # the datasource has a task now: nothing new is queued

    runtime = Runtime.build(embedded.settings)
    await runtime.start(with_workers=False)
    try:
        async with session_scope(runtime.sessions) as session:
            page = await ingestion_service.list_tasks(session, datasource="sales")
    finally:
        await runtime.stop()
    assert page.total == 1
    task = page.items[0]
    assert (task.status, task.filename, task.file_format) == ("queued", "données.csv", "csv")
    assert task.size_bytes == len(sales_csv(rows=5))
    assert task.storage_key.endswith(f"raw/{task.id}/donnees.csv")

"""Remedies as the service keeps them and words them: a retry is offered for an outage's
failure only, whether the task failed before remedies were kept or after."""

from __future__ import annotations

from backend.ingestion.schemas import TaskError
from backend.pipeline import remedies
from backend.pipeline.remedies import Door


def test_a_retry_is_offered_for_an_outage_and_never_for_the_files_own_problems() -> None:
    outage = {"code": "worker_died", "message": "the workers stopped", "detail": None}
    invalid = {"code": "invalid_rows", "message": "2 of 9 rows are invalid", "detail": "Fix."}

    assert [r["action"] for r in remedies.of_error(outage)] == ["retry"]
    assert remedies.of_error(invalid) == []
    assert [r.action for r in TaskError.of(outage, Door.GRAPHQL).remedies] == ["retry"]


def test_each_door_words_a_remedy_in_its_own_terms() -> None:
    stored = {
        "code": "schema_mismatch",
        "message": "the file's columns do not match",
        "detail": "The file has new column(s) 'discount'.",
        "remedies": [remedies.evolve(["add_columns", "widen"])],
    }

    rest, graphql = TaskError.of(stored, Door.REST), TaskError.of(stored, Door.GRAPHQL)

    assert rest.detail is not None and "evolve=add_columns,widen" in rest.detail
    assert graphql.detail is not None and "evolve: [ADD_COLUMNS, WIDEN]" in graphql.detail
    assert rest.plain_detail == graphql.plain_detail == "The file has new column(s) 'discount'."

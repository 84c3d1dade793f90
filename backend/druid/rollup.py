"""The rolled-up Druid datasource beside each raw one: rows rolled up to the hour over the
dataset's low-cardinality dimensions, with a row count and, per numeric column, its sum, count of
non-null values, minimum and maximum. Built from the raw task's spec (same input, interval and
mode), loaded by a Druid task of its own whose id derives from the raw task's."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from backend.druid.spec import COARSER, TASK_COLUMN, copyable, widened
from backend.redaction import redact

# User datasource names are letters, digits and "_" (and so is DRUID_DATASOURCE_PREFIX): a name
# with a "-" is never a user's.
SUFFIX = "-rollup"
# Metric names start with "__", which no rolled-up dimension does.
ROWS = "__rows"
STATS = ("sum", "count", "min", "max")
KINDS = ("long", "double")
# The report's sentence when a task's rollup is not loaded (the upload still succeeds).
MISSING = "rollup_missing"


# The rollup's task reads the same rows as the raw one, alone on the cores once the raw rows are
# queryable: it may take this many times the raw task's indexing, plus this many seconds to be
# served, before the wait for it gives up (dashboards then keep reading the raw rows).
WAIT_FACTOR = 3
WAIT_GRACE_SECONDS = 120.0


def wait_seconds(raw_indexing_ms: int | None, unknown: float) -> float:
    """How long the rollup may take to be queryable; `unknown` when Druid gave no duration."""
    if raw_indexing_ms is None:
        return unknown
    return round(WAIT_FACTOR * raw_indexing_ms / 1000 + WAIT_GRACE_SECONDS, 1)


def missing(reason: str) -> str:
    return redact(
        f"The rolled-up copy of these rows is missing ({reason}); dashboards read the raw "
        "rows, which are all loaded."
    )


def choice_key(datasource: str, task_id: str) -> str:
    """Where the choice of a task's rollup (its dimensions and measures) is stored."""
    return f"druid/{datasource}/{task_id}.rollup.json"


def rollup_datasource(druid_name: str) -> str:
    return f"{druid_name}{SUFFIX}"


def rollup_task_id(raw_task_id: str) -> str:
    """Derived from the raw task's id (committed before either is submitted): a worker that
    takes the task over tracks the same rollup task, and submitting it twice cannot load twice."""
    return f"{raw_task_id}{SUFFIX}"


def metric(kind: str, column: str) -> str:
    return f"__{kind}:{column}"


@dataclass(frozen=True)
class Choice:
    """What a dataset's rollup holds: its dimensions and its measures with their Druid type;
    and the numeric columns its raw load also holds as text (`spec.text_copy`)."""

    dimensions: tuple[str, ...]
    measures: tuple[tuple[str, str], ...]  # (column, "long" | "double")
    texts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimensions": list(self.dimensions),
            "measures": dict(self.measures),
            "texts": list(self.texts),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Choice:
        measures = data.get("measures") or {}
        return cls(
            tuple(str(d) for d in data.get("dimensions") or ()),
            tuple((str(k), str(v)) for k, v in measures.items() if v in KINDS),
            tuple(str(t) for t in data.get("texts") or ()),  # none before they were loaded
        )

    @classmethod
    def from_json(cls, text: str) -> Choice:
        return cls.from_dict(json.loads(text))


def fit(raw: dict[str, Any], choice: Choice) -> Choice:
    """The choice as the raw spec loads the columns: its string dimensions, and its numeric
    columns with the spec's types (those given a text copy too when Druid can name them)."""
    types = {
        str(d["name"]): str(d.get("type", "string"))
        for d in raw["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"]
    }
    return Choice(
        tuple(d for d in choice.dimensions if types.get(d) == "string"),
        tuple((n, types[n]) for n, _ in choice.measures if types.get(n) in KINDS),
        tuple(t for t in choice.texts if types.get(t) in KINDS and copyable(t)),
    )


def _metrics(choice: Choice) -> list[dict[str, Any]]:
    metrics: list[dict[str, Any]] = [{"type": "count", "name": ROWS}]
    for column, kind in choice.measures:
        present = {"type": "not", "field": {"type": "null", "column": column}}
        metrics += [
            {"type": f"{kind}Sum", "name": metric("sum", column), "fieldName": column},
            {
                "type": "filtered",
                "filter": present,
                "aggregator": {"type": "count", "name": metric("count", column)},
                "name": metric("count", column),
            },
            {"type": f"{kind}Min", "name": metric("min", column), "fieldName": column},
            {"type": f"{kind}Max", "name": metric("max", column), "fieldName": column},
        ]
    return metrics


def rollup_spec(raw: dict[str, Any], choice: Choice, task_id: str | None = None) -> dict[str, Any]:
    """The rollup's spec from the raw task's spec: the same input, interval and mode (append or
    replace); the task column is kept as a dimension so the task's rows can be counted."""
    spec = copy.deepcopy(raw)
    schema = spec["spec"]["dataSchema"]
    schema["dataSource"] = rollup_datasource(schema["dataSource"])
    keep = set(choice.dimensions) | {TASK_COLUMN}
    schema["dimensionsSpec"] = {
        "dimensions": [d for d in schema["dimensionsSpec"]["dimensions"] if d["name"] in keep]
    }
    schema["metricsSpec"] = _metrics(choice)
    granularity = schema["granularitySpec"]
    granularity["queryGranularity"] = "HOUR"
    granularity["rollup"] = True
    if spec["spec"]["ioConfig"].get("appendToExisting"):
        # Appended rows: segments one period up (a day's rows rolled up by the hour are a few
        # thousand; ninety day segments cost a query more than their rows). A replace keeps the
        # raw rows' periods, the ones it replaces: its newer segments hide that part of the
        # coarser ones, as the raw datasource's hide the rows they replace.
        coarser = COARSER[granularity["segmentGranularity"]]
        granularity["segmentGranularity"] = coarser
        granularity["intervals"] = [widened(span, coarser) for span in granularity["intervals"]]
    if task_id is not None:
        spec["id"] = task_id
    else:
        spec.pop("id", None)
    return spec

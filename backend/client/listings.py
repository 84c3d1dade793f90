"""`sales-ingest tasks`, `status` and `datasources`: listings as tables, or JSON with --json."""

from __future__ import annotations

import argparse
import json

from rich.console import Console

from backend.client.api import OK, Api
from backend.client.output import count_cell, listing, show, summarize


def tasks(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    params = {"limit": str(args.limit)}
    if args.datasource:
        params["datasource"] = args.datasource
    if args.status:
        params["status"] = args.status
    page = api.json("GET", "/api/ingest/tasks", params=params)
    listing(
        out,
        page,
        args.json,
        ("task", "status", "datasource", "file", "rows valid", "rejected", "created"),
        [
            (
                task["task_id"],
                task["status"],
                task["datasource"],
                task["filename"],
                count_cell(task["rows_valid"]),
                count_cell(task["rows_rejected"]),
                task["created_at"][:19],
            )
            for task in page["items"]
        ],
        "task",
    )
    return OK


def status(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    task = api.json("GET", f"/api/ingest/status/{args.task_id}")
    if args.json:
        print(json.dumps(task))
    else:
        summarize(task, out, "status")
    return OK


DATASOURCES = "{ datasources { name rowCount timeStart timeEnd lastIngestion } }"


def datasources(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    found = api.graphql(DATASOURCES)["datasources"]
    if args.json:
        print(json.dumps(found))
        return OK
    show(
        out,
        ("datasource", "rows", "data from", "data to", "last ingestion"),
        [
            (
                source["name"],
                count_cell(source["rowCount"]),
                (source["timeStart"] or "")[:19],
                (source["timeEnd"] or "")[:19],
                (source["lastIngestion"] or "")[:19],
            )
            for source in found
        ],
    )
    return OK

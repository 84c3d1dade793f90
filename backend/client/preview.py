"""`sales-ingest upload FILE --preview` and `sales-ingest confirm TASK`: a preview (a dry run:
the file read and checked in full, nothing loaded) printed as its columns and first rows, with
the exact command that loads it; confirming it loads the stored file with the changes asked
(types, date order, time column, columns renamed or dropped, another datasource)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from backend.client import advice
from backend.client.api import USAGE, Api, Stop
from backend.client.output import bars
from backend.client.upload import check_target, finish, follow

TYPES = ("string", "integer", "float", "boolean", "date", "time", "datetime")


def add_confirm_command(commands: Any, common: argparse.ArgumentParser) -> None:
    confirm = commands.add_parser(
        "confirm",
        parents=[common],
        help="load a preview's file (sent with upload --preview) with changes, without sending "
        "it again",
    )
    confirm.add_argument("task_id", metavar="TASK")
    confirm.add_argument(
        "--type", action="append", default=[], metavar="COL=TYPE", help=f"TYPE: {'|'.join(TYPES)}"
    )
    order = confirm.add_mutually_exclusive_group()
    order.add_argument("--day-first", action="store_true", help="read 1/5/2019 as May 1")
    order.add_argument("--month-first", action="store_true", help="read 1/5/2019 as January 5")
    confirm.add_argument("--time-column", metavar="COL")
    confirm.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    confirm.add_argument("--drop", action="append", default=[], metavar="COL")
    confirm.add_argument("--datasource", metavar="NAME", help="load into another datasource")
    confirm.add_argument("--preview", action="store_true", help="preview again with the changes")
    confirm.add_argument("--force", action="store_true", help="load even if already uploaded")
    confirm.add_argument(
        "--on-invalid",
        choices=("reject", "skip"),
        help="skip: load the valid rows, keep the invalid ones aside (default: as the preview)",
    )
    confirm.add_argument("--rejected", type=Path, help="write the rejected rows (CSV) here")
    confirm.set_defaults(run=confirm_preview)


def _pairs(flag: str, values: list[str]) -> dict[str, str]:
    found = {}
    for value in values:
        name, sep, other = value.partition("=")
        if not sep or not name or not other:
            raise Stop(USAGE, f"{flag} takes COL=VALUE (got {value!r}), e.g. {flag} amount=float")
        found[name] = other
    return found


def confirm_body(args: argparse.Namespace) -> dict[str, Any]:
    """The confirm request for `args` (checked: a Stop saying which flag is wrong)."""
    types = _pairs("--type", args.type)
    wrong = [t for t in types.values() if t not in TYPES]
    if wrong:
        raise Stop(
            USAGE, f"--type {wrong[0]!r} is not a column type; use one of {', '.join(TYPES)}"
        )
    order = "day_first" if args.day_first else "month_first" if args.month_first else None
    overrides = {
        "types": types,
        "date_order": order,
        "time_column": args.time_column,
        "rename": _pairs("--rename", args.rename),
        "drop": list(args.drop),
    }
    return {
        "overrides": overrides,
        "datasource_name": args.datasource,
        "dry_run": bool(args.preview),
        "force": bool(args.force),
        "on_invalid": args.on_invalid,
    }


def confirm_preview(api: Api, args: argparse.Namespace, out: Console, err: Console) -> int:
    body = confirm_body(args)
    if args.rejected is not None:
        check_target(args.rejected)
    accepted = api.json("POST", f"/api/ingest/tasks/{args.task_id}/confirm", json=body)
    task_id = accepted["task_id"]
    err.print(f"task {task_id}: {advice.duplicate_message(accepted, 'confirm')}")
    with bars(err) as progress:
        follow(api, task_id, progress, err)
    return finish(api, task_id, args, out, err, "confirm")

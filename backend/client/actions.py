"""`sales-ingest actions ...`: list, show, run (and wait for), enable, disable, create and delete
the service's actions, list their runs, and read a schedule in words, over its REST API."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from backend.client.action_words import (
    deliveries_cell,
    describe_action,
    describe_run,
    last_run_cells,
    moment,
    triggers_cell,
)
from backend.client.api import FAILED, OK, USAGE, Api, Stop
from backend.client.output import listing, printable

ACTIONS = "/api/actions"
ACTION_ID = re.compile(r"[0-9a-f]{32}")
NOT_FOUND = {404: "`sales-ingest actions list` lists yours; check the id."}
SCHEDULE_ADVICE = {
    422: 'Quote the 5 fields, such as "0 8 * * 1-5", and give --timezone an IANA name, such as '
    "Europe/Berlin."
}
POLL_SECONDS = 0.5
MAX_PAGE = 200  # the service's largest page of actions or runs
MAX_FILE = 1024 * 1024  # an action's JSON: far more than any valid one


def action_id(text: str) -> str:
    """An action id as the service prints them (32 hex digits): anything else would change the
    request's path."""
    if not ACTION_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an action id (the 32 hex digits `sales-ingest actions list` prints)"
        )
    return text


def page_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_PAGE:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_PAGE} (got {text})")
    return value


def answer(api: Api, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """The service's JSON answer; an action that is not found (or not the caller's) is told
    with this client's advice rather than the REST one."""
    return api.json(method, path, NOT_FOUND, **kwargs)


def list_actions(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    page = answer(api, "GET", ACTIONS, params={"limit": str(args.limit)})
    listing(
        out,
        page,
        args.json,
        ("action", "name", "kind", "triggers", "enabled", "last run", "at"),
        [
            (
                action["id"],
                action["name"],
                action["kind"],
                triggers_cell(action),
                "yes" if action["enabled"] else "no",
                *last_run_cells(action),
            )
            for action in page["items"]
        ],
        "action",
    )
    return OK


def show_action(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    action = answer(api, "GET", f"{ACTIONS}/{args.action_id}")
    if args.json:
        print(json.dumps(action))
    else:
        describe_action(action, out)
    return OK


def run_action(api: Api, args: argparse.Namespace, out: Console, err: Console) -> int:
    run = answer(api, "POST", f"{ACTIONS}/{args.action_id}/execute")
    if not args.wait:
        if args.json:
            print(json.dumps(run))
        else:
            out.print(run["id"])
        return OK
    err.print(f"run {run['id']}: {run['status']}")
    final = wait_for(api, args.action_id, run, err)
    if args.json:
        print(json.dumps(final))
    else:
        describe_run(final, out)
    return OK if final["status"] == "succeeded" else FAILED


def wait_for(api: Api, action: str, run: dict[str, Any], err: Console) -> dict[str, Any]:
    """The run, polled until it ends (succeeded or failed); each change of status is told."""
    said = run["status"]
    try:
        while run["status"] not in ("succeeded", "failed"):
            time.sleep(POLL_SECONDS)
            run = find_run(api, action, run["id"])
            if run["status"] != said:
                said = run["status"]
                retry = run.get("next_attempt_at")
                later = f" (next attempt at {moment(retry)})" if retry and said == "queued" else ""
                err.print(f"run {run['id']}: {said}{later}")
    except KeyboardInterrupt:
        raise Stop(
            USAGE,
            f"stopped waiting: run {run['id']} goes on on the server "
            f"(`sales-ingest actions runs {action}` shows how it ends).",
        ) from None
    return run


def find_run(api: Api, action: str, run_id: str) -> dict[str, Any]:
    """One run of the action, looked up among its newest (the service has no route for one)."""
    page = answer(api, "GET", f"{ACTIONS}/{action}/runs", params={"limit": str(MAX_PAGE)})
    found: list[dict[str, Any]] = [run for run in page["items"] if run["id"] == run_id]
    if found:
        return found[0]
    raise Stop(
        USAGE,
        f"run {run_id} is no longer among the action's {MAX_PAGE} newest runs; "
        f"`sales-ingest actions runs {action}` lists them.",
    )


def list_runs(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    path = f"{ACTIONS}/{args.action_id}/runs"
    page = answer(api, "GET", path, params={"limit": str(args.limit)})
    listing(
        out,
        page,
        args.json,
        ("run", "trigger", "status", "created", "ended", "deliveries", "error"),
        [
            (
                run["id"],
                run["trigger"],
                run["status"],
                moment(run["created_at"]),
                moment(run.get("finished_at")),
                deliveries_cell(run),
                printable(str((run.get("error") or {}).get("message") or "")),
            )
            for run in page["items"]
        ],
        "run",
    )
    return OK


def enable(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    return switch(api, args, out, enabled=True)


def disable(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    return switch(api, args, out, enabled=False)


def switch(api: Api, args: argparse.Namespace, out: Console, *, enabled: bool) -> int:
    path = f"{ACTIONS}/{args.action_id}"
    action = answer(api, "PATCH", path, json={"enabled": enabled})
    if args.json:
        print(json.dumps(action))
    elif enabled:
        out.print(f"Action {action['name']!r} is enabled: its schedules and events run it.")
    else:
        out.print(
            f"Action {action['name']!r} is disabled: its schedules and events no longer run it."
        )
    return OK


def create(api: Api, args: argparse.Namespace, out: Console, err: Console) -> int:
    body = action_file(args.file)
    made = answer(api, "POST", ACTIONS, json=body)
    secret = made.get("secret")
    if args.json:
        print(json.dumps(made))
    else:
        out.print(f"Created action {made['name']!r} ({made['kind']}): {made['id']}")
        if secret:
            out.print(f"Signing secret: {secret}")
    if secret:
        err.print("Copy it now: it will not be shown again.")
    return OK


def action_file(path: Path) -> dict[str, Any]:
    """The body of `actions create`: a JSON object read from the file ("-": standard input)."""
    try:
        text = sys.stdin.read(MAX_FILE + 1) if str(path) == "-" else read_text(path)
    except UnicodeDecodeError:
        raise Stop(USAGE, f"{path} is not UTF-8 text; give the action as JSON.") from None
    if len(text) > MAX_FILE:
        raise Stop(USAGE, f"{path} is larger than 1 MB: an action's JSON is far smaller.")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise Stop(USAGE, f"{path} is not valid JSON ({exc}); fix it and run again.") from None
    if not isinstance(body, dict):
        raise Stop(
            USAGE,
            f"{path} must hold one JSON object: "
            '{"name": ..., "kind": ..., "params": {...}, "triggers": [...]}.',
        )
    return body


def read_text(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as file:
            return file.read(MAX_FILE + 1)
    except FileNotFoundError:
        raise Stop(USAGE, f"{path}: no such file") from None
    except IsADirectoryError:
        raise Stop(USAGE, f"{path} is a directory; give the action's JSON file.") from None
    except OSError as exc:
        raise Stop(USAGE, f"{path}: cannot read it ({exc.strerror or exc})") from None


def delete(api: Api, args: argparse.Namespace, out: Console, err: Console) -> int:
    path = f"{ACTIONS}/{args.action_id}"
    action = answer(api, "GET", path)
    if not args.yes and not confirmed(action, err):
        raise Stop(USAGE, f"Nothing was deleted; to delete {action['name']!r}, add --yes.")
    api.call("DELETE", path, NOT_FOUND)
    if args.json:
        print(json.dumps({"deleted": action["id"]}))
    else:
        out.print(f"Deleted action {action['name']!r} and its runs.")
    return OK


def confirmed(action: dict[str, Any], err: Console) -> bool:
    """The person's yes on a terminal; without one (a script), no."""
    if not sys.stdin.isatty():
        return False
    err.print(f"Delete action {action['name']!r} and all its runs? [y/N] ", end="")
    try:
        return input().strip().lower() in ("y", "yes")
    except EOFError:
        return False


def schedule(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    params = {"cron": args.cron, "timezone": args.timezone}
    said = api.json("GET", f"{ACTIONS}/schedule-preview", SCHEDULE_ADVICE, params=params)
    if args.json:
        print(json.dumps(said))
        return OK
    out.print(said["words"])
    for when in said["next_times"]:
        out.print(f"  next: {moment(when)}")
    return OK


def add_action_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """`actions` and its subcommands (the same options before or after each)."""
    top = commands.add_parser(
        "actions", parents=[common], help="list, run and change actions (imports, webhooks, ...)"
    )
    sub = top.add_subparsers(dest="actions_command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", parents=[common], help="your actions, newest first")
    listing.add_argument("--limit", type=page_size, default=50, metavar="1..200")
    listing.set_defaults(run=list_actions)
    for name, run, said in (
        ("show", show_action, "one action, with its triggers' next times"),
        ("enable", enable, "let its schedules and events run it"),
        ("disable", disable, "stop its schedules and events"),
    ):
        one = sub.add_parser(name, parents=[common], help=said)
        one.add_argument("action_id", type=action_id, metavar="ID")
        one.set_defaults(run=run)
    now = sub.add_parser("run", parents=[common], help="run it now; prints the run's id")
    now.add_argument("action_id", type=action_id, metavar="ID")
    now.add_argument(
        "--wait", action="store_true", help="wait until the run ends (exit 0 succeeded, 1 failed)"
    )
    now.set_defaults(run=run_action)
    runs = sub.add_parser("runs", parents=[common], help="its runs, newest first, with deliveries")
    runs.add_argument("action_id", type=action_id, metavar="ID")
    runs.add_argument("--limit", type=page_size, default=20, metavar="1..200")
    runs.set_defaults(run=list_runs)
    made = sub.add_parser("create", parents=[common], help="create one from a JSON file")
    made.add_argument("--file", type=Path, required=True, help="the action as JSON (- for stdin)")
    made.set_defaults(run=create)
    gone = sub.add_parser("delete", parents=[common], help="delete it and its runs")
    gone.add_argument("action_id", type=action_id, metavar="ID")
    gone.add_argument("--yes", action="store_true", help="do not ask first")
    gone.set_defaults(run=delete)
    words = sub.add_parser("schedule", parents=[common], help="a cron schedule in words")
    words.add_argument("cron", help='5 fields, such as "30 8 * * 1-5"')
    words.add_argument("--timezone", default="UTC", help="an IANA name, such as Europe/Berlin")
    words.set_defaults(run=schedule)

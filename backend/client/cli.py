"""`sales-ingest`: upload files to a running service and follow them, list tasks and datasources.

    sales-ingest upload data.csv --datasource sales [--preview]
    sales-ingest upload big.csv --datasource sales --resume   (after an interrupted upload)
    sales-ingest confirm TASK_ID [--type COL=TYPE] [--day-first] [--rename OLD=NEW] [--drop COL]
    sales-ingest tasks [--datasource NAME] [--status failed]
    sales-ingest status TASK_ID
    sales-ingest datasources
    sales-ingest actions list|show|run|runs|enable|disable|create|delete|schedule

Talks to the service over HTTP only (REST, Server-Sent Events, GraphQL), so it works against any
deployment. Exit codes: 0 success, 1 the upload failed validation (or was cancelled), 2 a usage,
access or connection problem. Progress goes to stderr, results to stdout (`--json` for scripts).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from backend.client import resumable
from backend.client.actions import add_action_commands
from backend.client.api import USAGE, Api, Stop
from backend.client.listings import datasources, status, tasks
from backend.client.options import (
    DEFAULT_URL,
    TOKEN_FILE,
    check_text,
    ratio,
    seconds,
    task_id,
    token_for,
    url_for,
)
from backend.client.preview import add_confirm_command
from backend.client.upload import upload


def common_options() -> argparse.ArgumentParser:
    """Options taken before or after the command (`sales-ingest --url U tasks` or `tasks --url
    U`): no defaults here, so one place cannot undo the other (resolved in run_command)."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--url", help=f"the service (default: $SALES_INGEST_URL, else {DEFAULT_URL})"
    )
    common.add_argument(
        "--token", help=f"API token (default: $SALES_INGEST_TOKEN, else {TOKEN_FILE} if readable)"
    )
    common.add_argument("--timeout", type=seconds, help="seconds per request (default 300)")
    common.add_argument("--json", action="store_true", help="print JSON on stdout, for scripts")
    return common


def parser(prog: str = "sales-ingest") -> argparse.ArgumentParser:
    common = common_options()
    top = argparse.ArgumentParser(
        prog=prog,
        parents=[common],
        description=__doc__.splitlines()[0] if __doc__ else "",
    )
    commands = top.add_subparsers(dest="command", required=True)
    add_client_commands(commands, common)
    return top


def add_client_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """The client's subcommands, also offered by `python -m backend`."""
    send = commands.add_parser("upload", parents=[common], help="upload a file and follow it")
    send.add_argument("file", type=Path)
    send.add_argument("--datasource", required=True)
    send.add_argument("--mode", choices=("append", "replace"), default="append")
    send.add_argument("--on-invalid", choices=("reject", "skip"), default="reject")
    send.add_argument("--max-invalid-ratio", type=ratio, help="with --on-invalid skip: 0 to 1")
    send.add_argument("--sheet", help="Excel: the sheet to read")
    send.add_argument("--time-column")
    send.add_argument(
        "--evolve",
        action="append",
        choices=("add_columns", "widen"),
        help="inferred datasources: let this file add columns / widen integers to float "
        "(repeat for both)",
    )
    send.add_argument("--force", action="store_true", help="load even if already uploaded")
    send.add_argument("--rejected", type=Path, help="write the rejected rows (CSV) here")
    send.add_argument(
        "--preview", action="store_true", help="read and check it, load nothing, show a preview"
    )
    add_part_options(send)
    add_confirm_only(send)
    send.set_defaults(run=upload)
    listing = commands.add_parser("tasks", parents=[common], help="list recent tasks")
    listing.add_argument("--datasource")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=20, choices=range(1, 201), metavar="1..200")
    listing.set_defaults(run=tasks)
    one = commands.add_parser("status", parents=[common], help="one task, with its report")
    one.add_argument("task_id", type=task_id)
    one.set_defaults(run=status)
    names = commands.add_parser("datasources", parents=[common], help="datasources and rows")
    names.set_defaults(run=datasources)
    add_confirm_command(commands, common)
    add_action_commands(commands, common)


class ConfirmOnly(argparse.Action):
    """A change made after a preview, asked of `upload`: says where it goes instead of
    argparse's "unrecognized arguments"."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        parser.error(
            f"{option_string} is not an upload option: types, the date order, renames and "
            "dropped columns are changed after a preview. Run this upload with --preview, then "
            f"sales-ingest confirm TASK {option_string}{' ...' if self.nargs != 0 else ''} "
            "(the preview prints the command to start from)."
        )


def add_confirm_only(send: argparse.ArgumentParser) -> None:
    """The options of `sales-ingest confirm` that a person may try on `upload --preview`."""
    for flag in ("--day-first", "--month-first"):
        send.add_argument(flag, action=ConfirmOnly, nargs=0, help=argparse.SUPPRESS)
    for flag in ("--type", "--rename", "--drop"):
        send.add_argument(flag, action=ConfirmOnly, help=argparse.SUPPRESS)


def add_part_options(send: argparse.ArgumentParser) -> None:
    """Large files go in parts through an upload session, straight to the service's storage."""
    send.add_argument(
        "--parts-above",
        type=resumable.megabytes,
        metavar="MB",
        help=f"send a file larger than this in parts, resumable (default: ${resumable.PARTS_ABOVE_ENV}"
        f", else {resumable.PARTS_ABOVE_MB:g}; 0: every file)",
    )
    send.add_argument(
        "--parallel",
        type=resumable.parallel,
        default=4,
        metavar=f"1..{resumable.MAX_PARALLEL}",
        help="parts sent at once (default 4)",
    )
    send.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted upload of this file: send only the parts the service lacks",
    )


def run_command(args: argparse.Namespace) -> int:
    # markup off: file names, messages and values are shown as they are
    out = Console(markup=False, highlight=False, soft_wrap=True)
    err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
    # on a terminal, long lines wrap at its width between words (the bars stay one line each);
    # piped, each message stays one line, whatever its length
    out.soft_wrap, err.soft_wrap = not out.is_terminal, not err.is_terminal
    args.json = getattr(args, "json", False)
    api: Api | None = None
    try:
        check_text(args)
        timeout = getattr(args, "timeout", 300.0)
        api = Api(url_for(args), token_for(args), timeout, getattr(args, "command", ""))
        code: int = args.run(api, args, out, err)
        return code
    except Stop as stop:
        err.print(f"error: {stop.message}")
        return stop.code
    except KeyError as exc:  # an answer without a field the service always sends
        where = api.url if api else "the service"
        err.print(f"error: the answer of {where} has no {exc}; is --url the service's address?")
        return USAGE
    except KeyboardInterrupt:
        err.print("interrupted (an accepted upload goes on on the server)")
        return USAGE
    finally:
        if api is not None:
            api.client.close()


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(parser().parse_args(argv))


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()

"""Where the client connects and how its options are checked: the service's address and token
(from options, the environment or the token file) and the values argparse converts."""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

import httpx

from backend.client.api import TOKEN_ADVICE, USAGE, Stop, Token

DEFAULT_URL = "http://127.0.0.1:8000"
TOKEN_FILE = Path("var/admin-token")  # written by `make run` on first start
MAX_TIMEOUT = 86_400.0  # a day: larger values overflow the socket's timeout
TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the service's ids are 32 hex digits


def seconds(text: str) -> float:
    """--timeout: a number of seconds, more than 0 and at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_TIMEOUT:,.0f} seconds (got {text})"
        )
    return value


def ratio(text: str) -> float:
    """--max-invalid-ratio: a share from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, e.g. 0.05 (got {text!r})")
    return value


def task_id(text: str) -> str:
    """A task id as the service prints them (letters, digits, _ and -): anything else would
    change the request's path."""
    if not TASK_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a task id (the 32-character id that upload and tasks print)"
        )
    return text


def token_for(args: argparse.Namespace) -> Token | None:
    """The token from --token, else $SALES_INGEST_TOKEN, else var/admin-token (if readable)."""
    given: str | None = getattr(args, "token", None)
    if given is not None:
        return checked_token(given, "--token")
    if os.environ.get("SALES_INGEST_TOKEN"):
        return checked_token(os.environ["SALES_INGEST_TOKEN"], "$SALES_INGEST_TOKEN")
    try:
        saved = TOKEN_FILE.read_bytes()
    except OSError:
        return None
    if not saved.strip():
        return None
    return checked_token(saved.decode("ascii", "replace"), str(TOKEN_FILE))


def checked_token(text: str, source: str) -> Token:
    """A token is printable ASCII without spaces (it goes in an HTTP header); the message does
    not repeat it (it is a secret)."""
    value = text.strip()
    if not value:
        raise Stop(USAGE, f"the token in {source} is empty")
    if not all("!" <= char <= "~" for char in value):
        raise Stop(
            USAGE,
            f"the token in {source} is not valid: tokens are printable ASCII without spaces "
            f"(copy it again; {TOKEN_ADVICE})",
        )
    return Token(value, source)


def url_for(args: argparse.Namespace) -> str:
    """The service's address from --url, else $SALES_INGEST_URL, else the default."""
    given: str | None = getattr(args, "url", None)
    if given is not None:
        return checked_url(given, "--url")
    if os.environ.get("SALES_INGEST_URL"):
        return checked_url(os.environ["SALES_INGEST_URL"], "$SALES_INGEST_URL")
    return DEFAULT_URL


def checked_url(text: str, source: str) -> str:
    """An http(s) base address with a host and nothing the client would silently use: user
    info (httpx would send it as basic auth instead of the token), a query or a fragment."""
    text = text.strip()
    advice = f"give the service's address, e.g. {DEFAULT_URL}"
    if not text:
        raise Stop(USAGE, f"{source} is empty; {advice}")
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as exc:  # the text may hold a password: not repeated
        raise Stop(USAGE, f"{source} is not a valid URL ({exc}); {advice}") from exc
    if url.userinfo:
        raise Stop(
            USAGE,
            f"{source} has a user name or password in it (user:password@); the service takes "
            "a token instead: pass it with --token or $SALES_INGEST_TOKEN",
        )
    if url.scheme not in ("http", "https"):
        raise Stop(USAGE, f"{source} {text!r} must start with http:// or https://; {advice}")
    if not url.host:
        raise Stop(USAGE, f"{source} {text!r} has no host name; {advice}")
    try:
        url.host.encode("idna")  # what the resolver does: labels of 1 to 63 characters
    except UnicodeError as exc:
        raise Stop(USAGE, f"{source} {text!r}: the host name is not valid ({exc})") from exc
    if url.port is not None and not 0 < url.port < 65536:
        raise Stop(USAGE, f"{source} {text!r}: the port must be from 1 to 65535")
    if url.query or url.fragment:
        raise Stop(USAGE, f"{source} {text!r} must not have a ?query or #fragment; {advice}")
    return text


def check_text(args: argparse.Namespace) -> None:
    """Option values must be text the request can carry: arguments with bytes that are not
    UTF-8 (possible on POSIX) are refused here rather than failing inside httpx."""
    for name, value in vars(args).items():
        if isinstance(value, str) and not encodable(value):
            raise Stop(USAGE, f"--{name.replace('_', '-')} is not valid text (bytes not UTF-8)")


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def upload_fields(args: argparse.Namespace) -> dict[str, str]:
    """The upload's processing options as both upload doors take them (the form of
    POST /api/ingest/upload, the body of POST /api/uploads); unset ones left out."""
    given = {
        "mode": args.mode,
        "on_invalid": args.on_invalid,
        "max_invalid_ratio": args.max_invalid_ratio,
        "sheet": args.sheet,
        "time_column": args.time_column,
        "evolve": ",".join(args.evolve) if args.evolve else None,
    }
    fields = {name: str(value) for name, value in given.items() if value is not None}
    if getattr(args, "preview", False):
        fields["dry_run"] = "true"  # a preview: nothing is loaded
    return fields


def command_line(words: list[str], args: argparse.Namespace, tail: Sequence[str] = ()) -> str:
    """A command to run next: `words`, the --url this one was given, then `tail` (the token is
    not repeated: it is a secret; a placeholder says to add it when it was given as --token)."""
    url: str | None = getattr(args, "url", None)
    command = shlex.join([*words, *(["--url", url] if url else []), *tail])
    if getattr(args, "token", None):
        command += " --token <your token>"
    return command

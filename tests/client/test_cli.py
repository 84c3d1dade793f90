"""`sales-ingest` (and `python -m backend upload ...`) against a real uvicorn: exit codes, the
summary with line numbers, --json, --rejected, the listings, and the progress bars on a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import Backend
from tests.e2e.processes import ROOT, cli_admin_token, process_env, uvicorn_server
from tests.factories import sales_csv

SCRIPT = Path(sys.executable).parent / "sales-ingest"


@pytest.fixture
def served(embedded: Backend, tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    env = process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none")
    token = cli_admin_token(env, tmp_path / "admin-token")
    with uvicorn_server(env, tmp_path / "server.log") as url:
        yield url, token, env


def sales_ingest(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env or dict(os.environ),
        cwd=cwd,
    )


def bad_sales_file(path: Path) -> Path:
    lines = sales_csv(rows=12, seed=21).decode().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")  # file line 4
    row[header.index("Quantity")] = "0"
    lines[3] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_upload_is_followed_to_success_and_listed(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    good = tmp_path / "good.csv"
    good.write_bytes(sales_csv(rows=30, seed=20))

    done = sales_ingest(
        "upload", str(good), "--datasource", "sales", "--url", url, "--token", token
    )

    assert done.returncode == 0, done.stderr
    assert "succeeded: good.csv -> sales" in done.stdout
    assert "rows: 30 read, 30 valid, 0 rejected" in done.stdout
    assert "validating:" in done.stderr and "succeeded:" in done.stderr  # the phases, live

    again = sales_ingest(
        "upload", str(good), "--datasource", "sales", "--url", url, "--token", token, "--json"
    )
    assert again.returncode == 0, again.stderr
    task = json.loads(again.stdout)  # a duplicate: the earlier task, as JSON for scripts
    assert task["status"] == "succeeded" and task["rows_valid"] == 30

    listed = sales_ingest("tasks", "--url", url, "--token", token, "--json")
    assert [t["task_id"] for t in json.loads(listed.stdout)["items"]] == [task["task_id"]]
    table = sales_ingest("tasks", "--url", url, "--token", token)
    assert table.stdout.endswith("1 of 1 task\n"), table.stdout  # was "1 of 1 task(s)"
    shown = sales_ingest("status", task["task_id"], "--url", url, "--token", token)
    assert shown.returncode == 0 and "rows: 30 read" in shown.stdout
    sources = sales_ingest("datasources", "--url", url, "--token", token)
    assert sources.returncode == 0 and "sales" in sources.stdout and "30" in sources.stdout

    # Through `python -m backend` too, with the token from the environment.
    env = dict(os.environ, SALES_INGEST_TOKEN=token, SALES_INGEST_URL=url)
    module = subprocess.run(
        [sys.executable, "-m", "backend", "tasks"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert module.returncode == 0 and task["task_id"] in module.stdout, module.stderr


def test_a_bad_file_exits_1_with_line_numbers_and_the_rejected_rows(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    bad = bad_sales_file(tmp_path / "bad.csv")
    rejected = tmp_path / "rejected.csv"

    done = sales_ingest(
        "upload",
        str(bad),
        "--datasource",
        "sales",
        "--url",
        url,
        "--token",
        token,
        "--rejected",
        str(rejected),
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("failed: bad.csv -> sales ")
    assert "Quantity" in done.stdout and "line 4 ('0')" in done.stdout, done.stdout
    written = rejected.read_text().splitlines()
    assert len(written) == 2 and "_reason" in written[0]  # header and the one bad row


def test_a_file_with_a_new_column_is_told_how_and_loads_with_evolve(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    first, wider = tmp_path / "first.csv", tmp_path / "wider.csv"
    first.write_text("day,amount\n2024-01-01,1\n")
    wider.write_text("day,amount,discount\n2024-01-02,2.5,0.5\n")
    base = ("--datasource", "readings", "--url", url, "--token", token)
    assert sales_ingest("upload", str(first), *base).returncode == 0

    told = sales_ingest("upload", str(wider), *base)

    assert told.returncode == 1
    # the report's resolution in the CLI's flags, not the REST field (evolve=add_columns)
    said = "discount: new column: run the command again with --evolve add_columns"
    assert said in told.stdout, told.stdout
    assert "evolve=" not in told.stdout
    loaded = sales_ingest(
        "upload", str(wider), *base, "--evolve", "add_columns", "--evolve", "widen"
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "discount: new column: applied" in loaded.stdout
    assert "amount: decimals, integer column: applied" in loaded.stdout


def test_usage_access_and_connection_problems_exit_2(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    good = tmp_path / "good.csv"
    good.write_bytes(sales_csv(rows=5, seed=22))

    missing = sales_ingest("upload", str(tmp_path / "nope.csv"), "--datasource", "s", "--url", url)
    refused = sales_ingest(
        "upload", str(good), "--datasource", "sales", "--url", url, "--token", "sit_" + "x" * 38
    )
    nobody = sales_ingest("tasks", "--url", url, cwd=tmp_path)  # no token anywhere
    unreachable = sales_ingest("tasks", "--url", "http://127.0.0.1:9", "--token", token)
    wrong = sales_ingest("upload", str(good), "--url", url)  # --datasource missing

    assert missing.returncode == 2 and "no such file" in missing.stderr, missing.stderr
    assert refused.returncode == 2 and "401" in refused.stderr, refused.stderr
    assert nobody.returncode == 2 and "--token" in nobody.stderr, nobody.stderr
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr
    assert wrong.returncode == 2 and "--datasource" in wrong.stderr
    assert "Traceback" not in missing.stderr + refused.stderr + unreachable.stderr


def on_a_terminal(args: list[str], columns: int) -> str:
    """What `sales-ingest *args` writes to a pseudo-terminal `columns` wide (its exit code 0)."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = dict(os.environ, COLUMNS=str(columns), TERM="xterm-256color")
    process = subprocess.Popen(
        [str(SCRIPT), *args], stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=ROOT
    )
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 1)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break  # the process ended and closed the terminal
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(primary)
    assert process.wait(timeout=30) == 0, seen[-2000:]
    return seen.decode(errors="replace")


def test_on_a_terminal_the_upload_and_processing_show_progress_bars(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    good = tmp_path / "big.csv"
    good.write_bytes(sales_csv(rows=20_000, seed=23))
    args = ["upload", str(good), "--datasource", "sales", "--url", url, "--token", token]
    text = on_a_terminal(args, 120)
    assert "upload" in text and "100%" in text, text[-2000:]
    assert "━" in text  # rich's bar
    assert "20,000 rows read" in text, text[-2000:]


def test_on_an_80_column_terminal_each_bar_is_one_line_in_plain_units(
    served: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, _ = served
    good = tmp_path / "big.csv"
    good.write_bytes(sales_csv(rows=20_000, seed=24))
    args = ["upload", str(good), "--datasource", "sales", "--url", url, "--token", token]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", on_a_terminal(args, 80))
    lines = [line.rstrip() for line in re.split(r"[\r\n]+", text) if line.strip()]

    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    bars = [line for line in lines if "━" in line]  # each bar whole on its line: label to detail
    cut = [line for line in bars if not re.match(r"(sending|processing) +[━╸╺]+ +\d+% \S", line)]
    assert cut == []
    assert any(
        re.fullmatch(r"sending +━+ 100% 2\.6 MB of 2\.6 MB, [\d.]+ [KMG]?B/s", line)
        for line in bars
    ), bars
    assert any(
        re.fullmatch(r"processing +━+ 100% succeeded, 20,000 rows read", line) for line in bars
    ), bars
    assert "upload received: 2.6 MB, csv" in text
    assert " bytes" not in text, text  # "0/1 bytes", "3 bytes/s", "2680453 bytes" were shown


def test_a_traced_task_says_its_trace() -> None:
    from io import StringIO

    from rich.console import Console

    from backend.client.output import summarize

    task = {
        "status": "succeeded",
        "filename": "data.csv",
        "datasource": "sales",
        "task_id": "t1",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    }
    shown = StringIO()
    summarize(task, Console(file=shown, width=200))
    assert "trace: 4bf92f3577b34da6a3ce929d0e0e4736" in shown.getvalue()
    untraced = StringIO()
    summarize({**task, "trace_id": None}, Console(file=untraced, width=200))
    assert "trace" not in untraced.getvalue()


# Bad input, in process (no service needed): a clean `error:` and exit 2, never a traceback.

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a request that is made fails to connect


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No token or URL from the environment, and no var/admin-token in the current folder."""
    monkeypatch.delenv("SALES_INGEST_TOKEN", raising=False)
    monkeypatch.delenv("SALES_INGEST_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code and stderr of `sales-ingest ARGS` run in this process."""
    from backend.client.cli import main

    try:
        code: int | str | None = main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://[::1", "is not a valid URL (Invalid port"),
        ("ftp://127.0.0.1:9", "must start with http:// or https://"),
        ("localhost:8000", "must start with http:// or https://"),
        ("http://", "has no host name"),
        ("http://127.0.0.1:99999", "the port must be from 1 to 65535"),
        ("http://127.0.0.1:9/?page=2", "must not have a ?query or #fragment"),
        ("http://" + "a" * 300, "the host name is not valid"),
        ("   ", "--url is empty"),
    ],
)
def test_a_bad_url_is_refused_with_a_message(
    clean_env: Path, capsys: pytest.CaptureFixture[str], url: str, said: str
) -> None:
    code, err = run_cli(capsys, "tasks", "--url", url, "--token", "sit_x")
    assert code == 2 and err.startswith("error: --url") and said in err, err


def test_a_bad_url_from_the_environment_names_the_variable(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALES_INGEST_URL", "http://[::1")
    code, err = run_cli(capsys, "tasks", "--token", "sit_x")
    assert code == 2 and "$SALES_INGEST_URL is not a valid URL" in err, err


def test_a_url_with_user_info_is_refused_not_sent_instead_of_the_token(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(capsys, "tasks", "--url", "http://admin:s3cret@127.0.0.1:9", "--token", "t")
    assert code == 2 and "user name or password" in err and "--token" in err, err
    assert "s3cret" not in err  # not repeated
    code, err = run_cli(capsys, "tasks", "--url", "http://admin@127.0.0.1:9", "--token", "t")
    assert code == 2 and "user name or password" in err, err


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("-1", "more than 0"),
        ("0", "more than 0"),
        ("nan", "more than 0"),
        ("inf", "more than 0"),
        ("1e300", "at most 86,400 seconds"),
        ("soon", "'soon' is not a number of seconds"),
    ],
)
def test_the_timeout_must_be_a_positive_number_of_seconds(
    clean_env: Path, capsys: pytest.CaptureFixture[str], value: str, said: str
) -> None:
    code, err = run_cli(capsys, "tasks", "--url", NOWHERE, "--token", "t", "--timeout", value)
    assert code == 2 and "argument --timeout" in err and said in err, err
    assert "cannot reach" not in err


@pytest.mark.parametrize("token", ["é", "sit_abc déf", "two words", "a\nb", "tab\tbed"])
def test_a_token_that_is_not_printable_ascii_is_refused(
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    token: str,
) -> None:
    code, err = run_cli(capsys, "tasks", "--url", NOWHERE, "--token", token)
    assert code == 2 and "the token in --token is not valid" in err, err
    assert "printable ASCII without spaces" in err and token not in err
    monkeypatch.setenv("SALES_INGEST_TOKEN", token)
    code, err = run_cli(capsys, "tasks", "--url", NOWHERE)
    assert code == 2 and "the token in $SALES_INGEST_TOKEN is not valid" in err, err


def test_a_token_file_that_is_not_text_is_refused(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / "var").mkdir()
    (clean_env / "var" / "admin-token").write_bytes(b"\xff\xfe\x00")
    code, err = run_cli(capsys, "tasks", "--url", NOWHERE)
    assert code == 2 and "the token in var/admin-token is not valid" in err, err
    code, err = run_cli(capsys, "tasks", "--url", NOWHERE, "--token", " ")
    assert code == 2 and "the token in --token is empty" in err, err


def test_uploading_a_directory_or_a_device_says_so(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("--datasource", "sales", "--url", NOWHERE, "--token", "t")
    code, err = run_cli(capsys, "upload", str(clean_env), *base)
    assert code == 2 and f"{clean_env} is a directory" in err and "no such file" not in err, err
    code, err = run_cli(capsys, "upload", os.devnull, *base)
    assert code == 2 and "is not a regular file" in err, err


def test_a_rejected_target_that_cannot_be_written_is_refused_before_uploading(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = clean_env / "data.csv"
    data.write_bytes(sales_csv(rows=2, seed=24))
    base = ("upload", str(data), "--datasource", "sales", "--url", NOWHERE, "--token", "t")
    code, err = run_cli(capsys, *base, "--rejected", str(clean_env))
    assert code == 2 and "--rejected" in err and "is a directory" in err, err
    code, err = run_cli(capsys, *base, "--rejected", str(clean_env / "no" / "r.csv"))
    assert code == 2 and "there is no folder" in err, err
    assert "cannot reach" not in err  # refused before anything was sent


def test_a_task_id_cannot_change_the_request_path(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("../tasks", "a?b=1", "x/y", ""):
        code, err = run_cli(capsys, "status", bad, "--url", NOWHERE, "--token", "t")
        assert code == 2 and "is not a task id" in err, (bad, err)


def test_the_invalid_ratio_must_be_from_0_to_1(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = clean_env / "data.csv"
    data.write_bytes(sales_csv(rows=2, seed=25))
    for bad in ("2", "-0.1", "nan", "half"):
        code, err = run_cli(
            capsys,
            *("upload", str(data), "--datasource", "sales", "--url", NOWHERE, "--token", "t"),
            *("--on-invalid", "skip", "--max-invalid-ratio", bad),
        )
        assert code == 2 and "--max-invalid-ratio: must be a number from 0 to 1" in err, err


def test_an_option_that_is_not_utf8_is_refused(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = clean_env / "data.csv"
    data.write_bytes(sales_csv(rows=2, seed=26))
    not_utf8 = os.fsdecode(b"sales\xff")  # what Python makes of such bytes in argv
    code, err = run_cli(
        capsys, "upload", str(data), "--datasource", not_utf8, "--url", NOWHERE, "--token", "t"
    )
    assert code == 2 and "--datasource is not valid text" in err, err


class NotTheService(BaseHTTPRequestHandler):
    """Answers like other web servers do: /html/… a web page, /moved/… a redirect, /empty/… and
    /list/… JSON that is not what the service sends."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        kind = self.path.split("/")[1]
        status, headers, body = {
            "html": (200, {"Content-Type": "text/html"}, b"<html>hello</html>"),
            "moved": (301, {"Location": "https://elsewhere.example/"}, b""),
            "empty": (200, {"Content-Type": "application/json"}, b"{}"),
            "list": (200, {"Content-Type": "application/json"}, b"[]"),
        }[kind]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's
        pass


@pytest.fixture
def not_the_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotTheService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("html", "did not answer /api/ingest/tasks with a JSON object (HTTP 200, text/html)"),
        ("list", "did not answer /api/ingest/tasks with a JSON object"),
        ("moved", "301: http://127.0.0.1:"),
        ("empty", "has no 'items'; is --url the service's address?"),
    ],
)
def test_a_url_that_is_not_the_service_is_told(
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    not_the_service: str,
    kind: str,
    said: str,
) -> None:
    code, err = run_cli(capsys, "tasks", "--url", f"{not_the_service}/{kind}", "--token", "t")
    assert code == 2 and err.startswith("error: ") and said in err, err
    if kind == "moved":
        assert "redirects to https://elsewhere.example/" in err


def test_a_refused_token_is_told_apart_from_a_missing_one(
    served: tuple[str, str, dict[str, str]],
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, token, _ = served
    code, err = run_cli(capsys, "tasks", "--url", url, "--token", "sit_" + "x" * 38)
    assert code == 2 and "401" in err, err
    assert "The token from --token was refused: it is wrong, revoked or expired" in err
    assert "Pass --token" not in err
    monkeypatch.setenv("SALES_INGEST_TOKEN", "sit_" + "y" * 38)
    code, err = run_cli(capsys, "tasks", "--url", url)
    assert code == 2 and "The token from $SALES_INGEST_TOKEN was refused" in err, err
    monkeypatch.delenv("SALES_INGEST_TOKEN")
    code, err = run_cli(capsys, "tasks", "--url", url)  # no token anywhere
    assert code == 2 and "Pass --token, or set SALES_INGEST_TOKEN" in err, err
    assert "was refused" not in err

    # A file whose name is not UTF-8 (possible on POSIX) uploads, its name with U+FFFD.
    odd = clean_env / os.fsdecode(b"sales-\xff.csv")
    odd.write_bytes(sales_csv(rows=3, seed=27))
    from backend.client.cli import main

    assert main(["upload", str(odd), "--datasource", "sales", "--url", url, "--token", token]) == 0
    assert "succeeded: sales-\ufffd.csv -> sales" in capsys.readouterr().out

"""A large upload through the resumable upload sessions (issue 27), on the local folder and on
S3, against `cp` of the same file on the same disk; and the server's peak memory meanwhile.

Run it from the repository root:

    .venv/bin/python bench/resumable_upload.py                  # 5 GB, local folder then S3
    .venv/bin/python bench/resumable_upload.py --size-gb 0.5    # a check that it works
    .venv/bin/python bench/resumable_upload.py --storage s3 --size-gb 2   # one storage only

moto keeps the parts and assembles the object in memory: its peak RSS is about 4x the file, so an
S3 run needs that much free memory (the 5 GB S3 run did not fit this 23.5 GiB shared machine).
s3rver (npm), which stores to disk, cannot stand in for it: it does not implement ListParts
(405 MethodNotAllowed), which the complete call uses, so that call answers 500 there.

For each storage, one run does this:

1. Times `cp` of the input file to a new file beside it (same disk, same process tree) and
   removes the copy: the baseline.
2. Starts a fresh `uvicorn backend.main:app` (the flags of `make run`; a temporary SQLite
   database; the storage a temporary folder under var/bench, or a bucket of a moto S3 server
   started in its own process for the run) with WORKER_CONCURRENCY=0, so no worker picks up the
   task: the upload is measured, not the processing.
3. Runs the CLI, `sales-ingest upload FILE --parts-above 0 --parallel N --json`, as a subprocess.
   The clock starts when the CLI says its session is created and stops when it says the task of
   the complete call is queued (it prints both as soon as the service answered); the CLI's
   checksum of the whole file before creating the session is outside that window (its time is
   reported apart). The task is then cancelled (POST /api/ingest/tasks/{id}/cancel).
   A thread samples the server's RSS every 50 ms; the kernel's peak (VmHWM) is read at the end.
4. With S3, a second baseline: boto3's `upload_file` of the same file to a fresh moto server,
   with the same part size and parallelism (moto's own speed caps any S3 figure here).

Throughput = file bytes / (session created -> complete answered); MB = 10^6 bytes.
The input is a sales CSV (bench/generate_sales.py) of --size-gb GB under var/bench: a generated
block of rows repeated to the size (the bytes are not processed here), removed afterwards unless
--keep-input. Writes bench/results/resumable_upload-<UTC time>.json. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    DATA_DIR,
    MB,
    MIB,
    REPO_ROOT,
    BenchError,
    Server,
    command_line,
    ensure_csv,
    free_port,
    load_average,
    log_problems,
    machine,
    server_env,
    status_kib,
    utc_now,
    uvicorn_server,
    write_results,
)
from bench.upload_throughput import RssSampler, tree_cpu_seconds, tree_hwm_bytes  # noqa: E402

CLI = Path(sys.executable).parent / "sales-ingest"
MOTO = Path(sys.executable).parent / "moto_server"
BLOCK_ROWS = 2_000_000  # the generated block (about 270 MB) the input file repeats
CREATED = re.compile(r"^upload ([0-9a-f]+): ([\d,]+) parts of")
SENT = re.compile(r"^upload [0-9a-f]+: sent ")
QUEUED = re.compile(r"^task ([0-9a-f]+):")
BUCKET = "bench"
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


# --- the input file and the cp baseline ----------------------------------------------------------


def make_input(size_bytes: int, data_dir: Path) -> Path:
    """A sales CSV of at least `size_bytes` (whole rows): a generated block repeated."""
    block = ensure_csv(BLOCK_ROWS, data_dir).path
    path = data_dir / f"resumable_{size_bytes}.csv"
    if path.is_file() and path.stat().st_size >= size_bytes:
        return path
    print(f"writing {size_bytes / MB:,.0f} MB -> {path} ...", file=sys.stderr, flush=True)
    with block.open("rb") as source:
        header = source.readline()
        body = source.read()
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as out:
        out.write(header)
        written = len(header)
        while written < size_bytes:
            rest = size_bytes - written
            take = body if len(body) <= rest else _whole_rows(body, rest)
            out.write(take)
            written += len(take)
    tmp.replace(path)
    return path


def _whole_rows(body: bytes, at_least: int) -> bytes:
    """The body up to the end of the row that reaches `at_least` bytes (or all of it)."""
    end = body.find(b"\n", min(at_least, len(body)) - 1)
    return body if end < 0 else body[: end + 1]


def time_cp(source: Path) -> dict[str, float]:
    """`cp` of the file beside itself; the copy is removed. Also `sync` of the copy, apart."""
    copy = source.with_name(source.name + ".cp")
    try:
        started = time.perf_counter()
        subprocess.run(["cp", str(source), str(copy)], check=True)
        copied = time.perf_counter()
        subprocess.run(["sync", str(copy)], check=True)
        synced = time.perf_counter()
    finally:
        copy.unlink(missing_ok=True)
    size = source.stat().st_size
    return {
        "seconds": copied - started,
        "mb_per_s": size / MB / (copied - started),
        "sync_seconds": synced - copied,
        "with_sync_mb_per_s": size / MB / (synced - started),
    }


# --- moto ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moto:
    process: subprocess.Popen[bytes]
    url: str


@contextmanager
def moto_server(workdir: Path) -> Iterator[Moto]:
    """moto's S3 server in its own process (its files under `workdir`), with a bucket."""

    spool = workdir / "moto-tmp"
    spool.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "TMPDIR": str(spool), **AWS}
    with (workdir / "moto.log").open("wb") as log:
        process = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process)
        s3 = s3_client(url)
        s3.create_bucket(Bucket=BUCKET)
        yield Moto(process, url)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(spool, ignore_errors=True)


def s3_client(url: str) -> Any:
    """A boto3 S3 client of the moto server at `url`."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"moto exited with {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise BenchError(f"moto did not answer at {url} in {timeout:.0f}s")


def boto3_baseline(source: Path, workdir: Path, part_mb: int, parallel: int) -> dict[str, Any]:
    """boto3's upload_file of the file to a fresh moto (multipart, the same part size and
    parallelism): what moto takes at best on this machine."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=part_mb * MIB,
        multipart_chunksize=part_mb * MIB,
        max_concurrency=parallel,
    )
    with moto_server(workdir) as moto:
        s3 = s3_client(moto.url)
        started = time.perf_counter()
        s3.upload_file(str(source), BUCKET, "baseline.csv", Config=config)
        seconds = time.perf_counter() - started
        stored = s3.head_object(Bucket=BUCKET, Key="baseline.csv")["ContentLength"]
        moto_hwm = status_kib(moto.process.pid, "VmHWM") / 1024
    if stored != source.stat().st_size:
        raise BenchError(f"boto3 stored {stored} bytes of {source.stat().st_size}")
    size = source.stat().st_size
    return {"seconds": seconds, "mb_per_s": size / MB / seconds, "moto_vm_hwm_mib": moto_hwm}


# --- the CLI -------------------------------------------------------------------------------------


@dataclass
class ClientRun:
    """What the CLI said and when (monotonic seconds)."""

    started: float
    session_id: str | None = None
    part_count: int | None = None
    created_at: float | None = None
    sent_at: float | None = None
    task_id: str | None = None
    queued_at: float | None = None
    exit_code: int | None = None
    stderr: list[str] = field(default_factory=list)
    stdout: str = ""


def run_cli(url: str, source: Path, workdir: Path, parallel: int, datasource: str) -> ClientRun:
    """`sales-ingest upload` in parts; the task is cancelled as soon as the CLI says it is queued
    (the CLI then follows it to `cancelled` and ends)."""
    command = [str(CLI), "upload", str(source), "--datasource", datasource, "--url", url]
    command += ["--parts-above", "0", "--parallel", str(parallel), "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_INGEST_")}
    run = ClientRun(time.monotonic())
    # cwd: a folder without var/admin-token, so the CLI sends no token (the server lets
    # anonymous callers in as admin)
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stderr is not None
    out: list[str] = []
    stdout = process.stdout
    reader = threading.Thread(target=lambda: out.append(stdout.read()), daemon=True)
    reader.start()
    for line in process.stderr:
        _heard(run, url, line.rstrip("\n"))
    run.exit_code = process.wait(timeout=600)
    reader.join(timeout=10)
    run.stdout = "".join(out)
    return run


def _heard(run: ClientRun, url: str, line: str) -> None:
    now = time.monotonic()
    run.stderr.append(line)
    if (created := CREATED.match(line)) and run.created_at is None:
        run.created_at = now
        run.session_id, run.part_count = created[1], int(created[2].replace(",", ""))
    elif SENT.match(line) and run.sent_at is None:
        run.sent_at = now
    elif (queued := QUEUED.match(line)) and run.queued_at is None:
        run.queued_at, run.task_id = now, queued[1]
        answer = httpx.post(f"{url}/api/ingest/tasks/{run.task_id}/cancel", timeout=60)
        if answer.status_code != 200:
            raise BenchError(f"cancel answered {answer.status_code}: {answer.text[:300]}")


# --- one storage ---------------------------------------------------------------------------------


@dataclass
class StorageRun:
    storage: str
    load_at_start: list[float]
    size_bytes: int
    part_mb: int
    parallel: int
    ok: bool = False
    error: str | None = None
    cp: dict[str, float] | None = None
    boto3: dict[str, Any] | None = None
    seconds: float | None = None
    mb_per_s: float | None = None
    ratio_to_cp: float | None = None
    complete_seconds: float | None = None  # all parts sent -> complete answered
    checksum_seconds: float | None = None  # the CLI's sha256 of the file, before the session
    cli_exit_code: int | None = None
    final_status: str | None = None
    session_id: str | None = None
    task_id: str | None = None
    parts: int | None = None
    part_size: int | None = None
    stored_bytes: int | None = None
    api_part_bytes: float | None = None  # upload_part_bytes_total: part bytes the API received
    server_seconds: float | None = None  # session created_at -> task created_at (server clock)
    idle_rss_mib: float | None = None
    peak_rss_mib: float | None = None  # sampled every 50 ms, session created -> complete answered
    vm_hwm_before_mib: float | None = None
    vm_hwm_mib: float | None = None  # the kernel's peak of the server process, at the end
    server_cpu_seconds: float | None = None
    moto_vm_hwm_mib: float | None = None
    server_log_problems: list[str] = field(default_factory=list)
    cli_stderr_tail: list[str] = field(default_factory=list)


def settings_for(storage: str, workdir: Path, part_mb: int, moto: Moto | None) -> dict[str, str]:
    settings = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'metadata.db'}",
        "WORKER_CONCURRENCY": "0",  # nothing processes the task: the upload is measured
        "UPLOAD_PART_MB": str(part_mb),
    }
    if storage == "local":
        return settings | {"STORAGE_URL": str(workdir / "storage")}
    assert moto is not None
    # moto assembles the object on CompleteMultipartUpload, silent for longer than the default
    # read timeout (S3 keeps the connection alive meanwhile)
    return settings | {
        "STORAGE_URL": f"s3://{BUCKET}/ingest",
        "S3_ENDPOINT_URL": moto.url,
        "AWS_REGION": "us-east-1",
        "S3_READ_TIMEOUT_SECONDS": "600",
        **AWS,
    }


def run_storage(
    storage: str, source: Path, workroot: Path, part_mb: int, parallel: int
) -> StorageRun:
    size = source.stat().st_size
    run = StorageRun(storage, load_average(), size, part_mb, parallel)
    workdir = workroot / storage
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        print(f"{storage}: cp ...", file=sys.stderr, flush=True)
        run.cp = time_cp(source)
        print(f"{storage}: the session API ...", file=sys.stderr, flush=True)
        with _storage(storage, workdir) as moto:
            env = server_env(
                settings_for(storage, workdir, part_mb, moto),
                drop=("DATABASE_", "STORAGE_", "WORKER_", "UPLOAD_", "S3_", "AWS_"),
            )
            with uvicorn_server(env, workdir / "server.log", grace=30) as server:
                measure(run, server, source, workdir, moto)
            run.server_log_problems = log_problems(workdir / "server.log")
        if storage == "s3":
            print("s3: boto3 upload_file to moto ...", file=sys.stderr, flush=True)
            run.boto3 = boto3_baseline(source, workdir, part_mb, parallel)
        run.ok = run.final_status == "cancelled" and run.stored_bytes == size
        if not run.ok:
            run.error = f"task {run.final_status}, stored {run.stored_bytes} of {size} bytes"
    except (BenchError, httpx.HTTPError, subprocess.SubprocessError, OSError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return run


@contextmanager
def _storage(storage: str, workdir: Path) -> Iterator[Moto | None]:
    if storage == "local":
        yield None
        return
    with moto_server(workdir) as moto:
        yield moto


def measure(
    run: StorageRun, server: Server, source: Path, workdir: Path, moto: Moto | None
) -> None:
    pid = server.process.pid
    sampler = RssSampler(pid)
    sampler.start()
    try:
        time.sleep(0.5)
        run.idle_rss_mib = sampler.peak_mib()
        run.vm_hwm_before_mib = tree_hwm_bytes(pid) / MIB
        cpu = tree_cpu_seconds(pid)
        client = run_cli(server.url, source, workdir, run.parallel, f"bench_{run.storage}")
        run.server_cpu_seconds = tree_cpu_seconds(pid) - cpu
        run.vm_hwm_mib = tree_hwm_bytes(pid) / MIB
    finally:
        sampler.stop()
    if moto is not None:
        run.moto_vm_hwm_mib = status_kib(moto.process.pid, "VmHWM") / 1024
    read_client(run, client)
    if client.created_at is None or client.queued_at is None:
        raise BenchError("the CLI did not finish the upload:\n" + "\n".join(client.stderr[-20:]))
    run.peak_rss_mib = sampler.peak_mib(client.created_at, client.queued_at)
    run.seconds = client.queued_at - client.created_at
    run.mb_per_s = run.size_bytes / MB / run.seconds
    run.checksum_seconds = client.created_at - client.started
    if client.sent_at is not None:
        run.complete_seconds = client.queued_at - client.sent_at
    if run.cp:
        run.ratio_to_cp = run.mb_per_s / run.cp["mb_per_s"]
    read_server(run, server.url, workdir, moto)


def read_client(run: StorageRun, client: ClientRun) -> None:
    run.cli_exit_code = client.exit_code
    run.session_id, run.task_id, run.parts = client.session_id, client.task_id, client.part_count
    run.cli_stderr_tail = client.stderr[-8:]
    try:
        run.final_status = json.loads(client.stdout)["status"]
    except (ValueError, KeyError, TypeError):
        run.final_status = None


def read_server(run: StorageRun, url: str, workdir: Path, moto: Moto | None) -> None:
    """The session and task as the server recorded them, the bytes stored, the part bytes the
    API received itself."""
    session = httpx.get(f"{url}/api/uploads/{run.session_id}", timeout=60).json()
    task = httpx.get(f"{url}/api/ingest/status/{run.task_id}", timeout=60).json()
    run.part_size = session["part_size"]
    run.server_seconds = (_at(task["created_at"]) - _at(session["created_at"])).total_seconds()
    metrics = httpx.get(f"{url}/metrics", timeout=60).text
    found = re.search(r"^upload_part_bytes_total(?:\{\})? (\S+)$", metrics, re.MULTILINE)
    run.api_part_bytes = float(found[1]) if found else None
    run.stored_bytes = stored_size(workdir, moto, str(session["id"]))


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def stored_size(workdir: Path, moto: Moto | None, session_id: str) -> int:
    """The size of the file the session assembled, read from the storage itself."""
    if moto is None:
        folder = workdir / "storage" / "sessions" / session_id
        return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
    s3 = s3_client(moto.url)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"ingest/sessions/{session_id}/")
    return sum(int(item["Size"]) for item in listed.get("Contents", []))


# --- report and main -----------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(runs: list[StorageRun]) -> list[str]:
    """The results as a Markdown table (RESULTS.md takes it as it is)."""
    lines = [
        "| storage | size (MB) | ours MB/s | cp MB/s | ratio ours/cp | boto3 to moto MB/s "
        "| server peak RSS sampled / VmHWM (MiB) | parts x size | parallel | load at start |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        parts = f"{run.parts or '-'} x {(run.part_size or 0) // MIB} MiB"
        lines.append(
            f"| {run.storage} | {run.size_bytes / MB:,.0f} | {_cell(run.mb_per_s)} "
            f"| {_cell(run.cp['mb_per_s'] if run.cp else None)} | {_cell(run.ratio_to_cp, 2)} "
            f"| {_cell(run.boto3['mb_per_s'] if run.boto3 else None)} "
            f"| {_cell(run.peak_rss_mib, 0)} / {_cell(run.vm_hwm_mib, 0)} | {parts} "
            f"| {run.parallel} | {' '.join(f'{x:.2f}' for x in run.load_at_start)} |"
        )
    return lines


def details(runs: list[StorageRun]) -> list[str]:
    lines = []
    for run in runs:
        lines.append(
            f"{run.storage}: {'ok' if run.ok else 'FAILED'}; {_cell(run.seconds, 2)} s from session "
            f"created to complete answered ({_cell(run.server_seconds, 2)} s by the server's "
            f"clock), of which the complete call {_cell(run.complete_seconds, 2)} s; the CLI's checksum before the session {_cell(run.checksum_seconds, 2)} s; "
            f"cp {_cell(run.cp['seconds'] if run.cp else None, 2)} s (+ sync "
            f"{_cell(run.cp['sync_seconds'] if run.cp else None, 2)} s); server idle RSS "
            f"{_cell(run.idle_rss_mib, 0)} MiB, VmHWM before {_cell(run.vm_hwm_before_mib, 0)} "
            f"MiB, CPU {_cell(run.server_cpu_seconds, 1)} s; part bytes the API received "
            f"{_cell(run.api_part_bytes, 0)}; moto VmHWM {_cell(run.moto_vm_hwm_mib, 0)} MiB"
        )
        if run.error:
            lines.append(f"  error: {run.error}")
            lines += [f"  cli: {line}" for line in run.cli_stderr_tail]
        lines += [f"  server log: {line}" for line in run.server_log_problems[:10]]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gb", type=float, default=5.0, help="the file's size (10^9 bytes)")
    parser.add_argument(
        "--storage", choices=("local", "s3", "both"), default="both", help="default both"
    )
    parser.add_argument("--parallel", type=int, default=4, help="the CLI's --parallel (4)")
    parser.add_argument("--part-mb", type=int, default=16, help="UPLOAD_PART_MB (16)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="var/bench")
    parser.add_argument("--keep-input", action="store_true", help="keep the input file")
    args = parser.parse_args(argv)
    if not 0 < args.size_gb <= 50:
        parser.error("--size-gb must be above 0 and at most 50")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = utc_now()
    meta: dict[str, Any] = {
        "date": started.isoformat(),
        "command": command_line(),
        "client": f"sales-ingest upload --parts-above 0 --parallel {args.parallel} (subprocess)",
        "part_mb": args.part_mb,
        "parallel": args.parallel,
        "processing": "none: WORKER_CONCURRENCY=0, the task cancelled once queued",
        "machine": machine("uvicorn", "httpx", "moto", "boto3"),
        "disk_free_before": shutil.disk_usage(REPO_ROOT).free,
    }
    storages = ["local", "s3"] if args.storage == "both" else [args.storage]
    source = make_input(int(args.size_gb * 1e9), args.data_dir)
    workroot = Path(tempfile.mkdtemp(prefix="resumable-", dir=args.data_dir))
    try:
        runs = [run_storage(s, source, workroot, args.part_mb, args.parallel) for s in storages]
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
        if not args.keep_input:
            source.unlink(missing_ok=True)
    meta["machine"]["load_after"] = load_average()
    print("\n".join(["", *table(runs), "", *details(runs)]), flush=True)
    print(f"client: {meta['client']}, UPLOAD_PART_MB {args.part_mb}; {meta['processing']}")
    record = {**meta, "ok": all(r.ok for r in runs), "runs": [asdict(r) for r in runs]}
    write_results("resumable_upload", record, started)
    return 0 if record["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

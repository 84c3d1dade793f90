"""What parsing while the bytes stream in could gain on this machine, measured before building it.

The upload benchmark (bench/upload_throughput.py) runs the upload and then the processing, one
after the other. Parsing while the upload streams in would run them at the same time. This script
measures both arrangements of the same work, side by side in one run:

- **raw**: raw Polars ``scan_csv -> sink_parquet`` of the file (the upload benchmark's baseline);
- **alone**: the upload alone (curl to a real ``uvicorn backend.main:app`` (the flags of ``make run``) whose worker is off,
  until the 202), then the one pass alone (``normalize()`` in a fresh process on the same file, a
  new inferred datasource, as the upload benchmark's), timed one after the other;
- **together**: the same upload and the same one pass started at the same moment; timed until
  both are done. This is optimistic for parsing while uploading: the pass reads the file from the
  page cache instead of taking the bytes from the upload, and nothing has to hand them over.

Ratios are raw seconds / arrangement seconds (the upload benchmark's target is >= 0.6). Neither
arrangement counts the service's task bookkeeping, so both are ceilings for what the service can
reach. Run from the repository root:

    .venv/bin/python bench/overlap_ceiling.py             # 5,000,000 rows, 3 rounds
    .venv/bin/python bench/overlap_ceiling.py --rows 1000000 --repeat 1
    .venv/bin/python bench/overlap_ceiling.py --quick   # 20,000 rows, one round

Every figure is written to ``bench/results/overlap_ceiling-<UTC time>.json``.

Linux only; needs curl. Exits non-zero only when something failed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    REPO_ROOT,
    BenchError,
    ensure_csv,
    machine,
    server_env,
    utc_now,
    uvicorn_server,
    write_results,
)

# The sizes of a run: the default, and --quick (a check that the script works).
SIZES = {"full": {"rows": 5_000_000, "repeat": 3}, "quick": {"rows": 20_000, "repeat": 1}}

RAW = """
import sys, time
import polars as pl
started = time.perf_counter()
pl.scan_csv(sys.argv[1], infer_schema_length=10000).sink_parquet(sys.argv[2], compression="zstd")
print(time.perf_counter() - started)
"""

# Waits for a line on stdin, so that imports are done before the clock starts.
ONE_PASS = """
import datetime as dt, sys, tempfile, time
from pathlib import Path
from backend.pipeline.normalize import UploadOptions, normalize
from backend.pipeline.sniff import FileFormat
workdir = Path(tempfile.mkdtemp(dir=sys.argv[3]))
sys.stdin.readline()
started = time.perf_counter()
outcome = normalize(Path(sys.argv[1]), FileFormat.CSV, workdir, datasource=sys.argv[2],
    known_schema=None, options=UploadOptions(), uploaded_at=dt.datetime.now(dt.UTC))
if outcome.failure is not None:
    sys.exit(f"the one pass failed: {outcome.failure}")
print(time.perf_counter() - started, flush=True)
"""


def raw_polars(path: Path, scratch: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", RAW, str(path), str(scratch / "raw.parquet")],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def one_pass(path: Path, datasource: str, scratch: Path) -> subprocess.Popen[str]:
    """A child ready to run the pass: write a line to its stdin to start it."""
    return subprocess.Popen(
        [sys.executable, "-c", ONE_PASS, str(path), datasource, str(scratch)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def start(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()


def finish(child: subprocess.Popen[str]) -> float:
    out, _ = child.communicate(timeout=600)
    if child.returncode != 0:
        raise BenchError(f"the one pass exited with {child.returncode}")
    return float(out)


def upload(url: str, path: Path, datasource: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-F",
            f"file=@{path}",
            "-F",
            f"datasource_name={datasource}",
            f"{url}/api/ingest/upload",
        ],
        stdout=subprocess.PIPE,
    )


def accepted(process: subprocess.Popen[bytes]) -> None:
    out, _ = process.communicate(timeout=600)
    if out != b"202":
        raise BenchError(f"the upload answered {out.decode() or 'nothing'}")


def round_of(path: Path, number: int, scratch: Path) -> dict[str, float]:
    raw = raw_polars(path, scratch)
    folder = Path(tempfile.mkdtemp(dir=scratch))
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'metadata.db'}",
        "STORAGE_URL": str(folder / "storage"),
        "MAX_UPLOAD_MB": str(path.stat().st_size // 1_000_000 + 100),
        "WORKER_CONCURRENCY": "0",  # the upload only: the pass runs beside it, measured
        "AUTH_ANONYMOUS_ROLE": "admin",  # a throwaway server on loopback
    }
    try:
        with uvicorn_server(server_env(env), folder / "server.log", grace=30) as server:
            timings = both_arrangements(server.url, path, number, scratch)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"raw": raw, **timings}


def both_arrangements(url: str, path: Path, number: int, scratch: Path) -> dict[str, float]:
    """The upload and the one pass one after the other, then at the same moment."""
    child = one_pass(path, f"alone_{number}", scratch)
    started = time.perf_counter()
    accepted(upload(url, path, f"alone_{number}"))
    upload_alone = time.perf_counter() - started
    time.sleep(1)
    start(child)
    pass_alone = finish(child)

    child = one_pass(path, f"together_{number}", scratch)
    time.sleep(3)  # its imports are done
    started = time.perf_counter()
    sending = upload(url, path, f"together_{number}")
    start(child)
    accepted(sending)
    upload_together = time.perf_counter() - started
    finish(child)
    together = time.perf_counter() - started
    return {
        "upload_alone": upload_alone,
        "pass_alone": pass_alone,
        "alone": upload_alone + pass_alone,
        "upload_together": upload_together,
        "together": together,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one round")
    parser.add_argument("--rows", type=int, help="rows in the file (default 5,000,000)")
    parser.add_argument("--repeat", type=int, help="rounds (default 3)")
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else "full"]
    rows, repeat = args.rows or size["rows"], args.repeat or size["repeat"]
    if shutil.which("curl") is None:
        raise BenchError("curl is needed")
    path = ensure_csv(rows).path
    started = utc_now()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="overlap-") as scratch:
        for number in range(repeat):
            found = round_of(path, number, Path(scratch))
            rounds.append(found)
            print(
                f"round {number + 1}: raw {found['raw']:.2f} s | alone: upload "
                f"{found['upload_alone']:.2f} + one pass {found['pass_alone']:.2f} = "
                f"{found['alone']:.2f} s | together: upload {found['upload_together']:.2f}, "
                f"both done {found['together']:.2f} s",
                flush=True,
            )
    report(rounds, rows, path)
    record = {"rows": rows, "machine": machine("polars", "uvicorn"), "rounds": rounds}
    write_results("overlap_ceiling", {**record, "ratios": ratios_of(rounds)}, started)
    return 0


def ratios_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {
        "alone": statistics.median(r["raw"] / r["alone"] for r in rounds),
        "together": statistics.median(r["raw"] / r["together"] for r in rounds),
    }


def report(rounds: list[dict[str, float]], rows: int, path: Path) -> None:
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    ratios = ratios_of(rounds)
    print(f"\n{rows:,} rows, {path.stat().st_size / 1e6:,.1f} MB, medians of {len(rounds)}")
    print(f"  raw Polars scan->sink                       {median['raw']:6.2f} s")
    print(
        f"  upload, then one pass (one after the other) {median['alone']:6.2f} s"
        f"   raw / this = {ratios['alone']:.2f}"
    )
    print(
        f"  upload and one pass at once                 {median['together']:6.2f} s"
        f"   raw / this = {ratios['together']:.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())

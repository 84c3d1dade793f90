"""Upload -> succeeded for CSV, Parquet and Excel against raw Polars on the same file, and with
``--before DIR`` the same service measurement from another checkout in the same run.

Run it from the repository root:

    python bench/upload_formats.py --before /work/wt/before     # full size, 3 repeats
    python bench/upload_formats.py --quick                      # small files, one run
    python bench/upload_formats.py --formats parquet --parquet-rows 2000000 --repeat 1

What one run measures, per format and size (``--csv-rows``, ``--parquet-rows``, ``--excel-rows``,
comma-separated; ``--formats`` picks among csv, parquet, parquet-typed, excel):

- csv: ``sales_<rows>.csv`` (default 5M rows and 2x) against ``pl.scan_csv(path,
  infer_schema_length=10000).sink_parquet(out, compression="zstd")``;
- parquet: the same rows with every column a string, as a CSV export gives (default 2M and 5M
  rows), against ``pl.scan_parquet(path).sink_parquet(out, compression="zstd")``; parquet-typed
  (not in the default) is the same with the types Polars infers;
- excel: the same rows as a one-sheet .xlsx (default 200k rows; a larger workbook takes minutes to
  write) against ``pl.read_excel(path, engine="calamine").write_parquet(out)``.

The files are made once under var/bench/ (gitignored) by bench/format_inputs.py and reused. Raw
Polars runs in a fresh interpreter (timed inside it). The service is a fresh ``uvicorn
backend.main:app`` per upload (bench/upload_throughput.py ``run_service``: the Makefile's flags,
its own SQLite database and storage folder), the file uploaded with curl and the task polled until
it has succeeded; its peak RSS is sampled every 50 ms. ratio = raw Polars seconds / service end to
end seconds. With ``--before DIR`` the service is also started from DIR (its ``backend``), the two
alternating (after first on odd repeats, before first on even ones). Every figure is the median
of ``--repeat`` runs (default 3) but peak RSS, the maximum. Prints a table and the targets of issue
28 and writes every run to bench/results/upload_formats-<UTC time>.json. A missed target is
reported, never a failure; the exit status is non-zero when an upload or a baseline failed.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.format_inputs import (  # noqa: E402
    Generated,
    ensure_csv_file,
    ensure_parquet,
    ensure_xlsx,
)
from bench.harness import (  # noqa: E402
    DATA_DIR,
    MB,
    MIB,
    REPO_ROOT,
    BenchError,
    command_line,
    load_average,
    machine,
    spread,
    utc_now,
    write_results,
)
from bench.upload_throughput import (  # noqa: E402
    Baseline,
    InputFile,
    ServiceRun,
    combine_baselines,
    combine_runs,
    run_service,
)

FORMATS = ("csv", "parquet", "parquet-typed", "excel")
DEFAULT_FORMATS = "csv,parquet,excel"
ROWS = {
    "full": {"csv": "5000000,10000000", "parquet": "2000000,5000000", "excel": "200000"},
    "quick": {"csv": "20000,40000", "parquet": "20000,40000", "excel": "2000"},
}
# Issue 28's targets: service / raw Polars at least this; Parquet's peak RSS under 600 MiB, flat.
RATIO_TARGETS = {"csv": 0.6, "parquet": 0.5, "parquet-typed": 0.5, "excel": 0.7}
RSS_TARGET_MIB = 600.0
FLAT_TOLERANCE = 0.25

# Runs in a fresh interpreter: argv = format, source, target. Prints one JSON object.
_BASELINE_CHILD = """
import json, resource, sys, time
import polars as pl

fmt, source, target = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
if fmt == "csv":
    pl.scan_csv(source, infer_schema_length=10000).sink_parquet(target, compression="zstd")
elif fmt == "excel":
    pl.read_excel(source, engine="calamine").write_parquet(target)
else:
    pl.scan_parquet(source).sink_parquet(target, compression="zstd")
seconds = time.perf_counter() - start
rows = pl.scan_parquet(target).select(pl.len()).collect().item()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": seconds, "rows": rows, "peak_rss_kib": usage.ru_maxrss,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime}))
"""


@dataclass
class Scenario:
    fmt: str
    source: InputFile
    baselines: list[Baseline] = field(default_factory=list)
    after: list[ServiceRun] = field(default_factory=list)
    before: list[ServiceRun] = field(default_factory=list)


def make_input(fmt: str, rows: int, data_dir: Path) -> InputFile:
    found: Generated
    if fmt == "csv":
        found = ensure_csv_file(rows, data_dir)
    elif fmt == "excel":
        found = ensure_xlsx(rows, data_dir)
    else:
        found = ensure_parquet(rows, typed=fmt == "parquet-typed", data_dir=data_dir)
    label = f"{fmt.replace('-', '_')}_{rows}"
    return InputFile(label, found.path, rows, found.size_bytes, found.generated_seconds)


def run_baseline(scenario: Scenario, workdir: Path) -> Baseline:
    source = scenario.source
    target = workdir / f"baseline_{source.label}.parquet"
    result = subprocess.run(
        [sys.executable, "-c", _BASELINE_CHILD, scenario.fmt, str(source.path), str(target)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    target.unlink(missing_ok=True)
    if result.returncode != 0:
        raise BenchError(f"raw Polars failed on {source.path}: {result.stderr.strip()[-2000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if out["rows"] != source.rows:
        raise BenchError(f"raw Polars wrote {out['rows']} rows from {source.rows}")
    seconds = float(out["seconds"])
    return Baseline(
        seconds=seconds,
        mb_per_s=source.size_bytes / MB / seconds,
        peak_rss_mib=out["peak_rss_kib"] / 1024,
        cpu_seconds=float(out["cpu_seconds"]),
    )


def run_all(args: argparse.Namespace, scenarios: list[Scenario], workroot: Path) -> None:
    """Raw Polars, then the service (after and, with --before, before, alternating), for each
    file, --repeat times; raises BenchError at the first failed service run."""
    max_mb = max(4096, math.ceil(max(s.source.size_bytes for s in scenarios) / MIB) + 64)
    checkouts = [("after", REPO_ROOT)] + ([("before", args.before)] if args.before else [])
    for attempt in range(1, args.repeat + 1):
        order = checkouts if attempt % 2 else checkouts[::-1]
        for scenario in scenarios:
            step = f"{scenario.source.label}, run {attempt}/{args.repeat}"
            print(f"raw Polars on {step} ...", file=sys.stderr, flush=True)
            scenario.baselines.append(run_baseline(scenario, workroot))
            for name, checkout in order:
                print(f"service ({name}) on {step} ...", file=sys.stderr, flush=True)
                workdir = workroot / f"{name}_{scenario.source.label}_{attempt}"
                run = run_service(
                    scenario.source,
                    workdir,
                    client="curl",
                    max_upload_mb=max_mb,
                    worker_concurrency=args.worker_concurrency,
                    poll_interval=args.poll_interval,
                    task_timeout=args.task_timeout,
                    cwd=checkout,
                )
                getattr(scenario, name).append(run)
                if not args.keep:
                    shutil.rmtree(workdir, ignore_errors=True)
                if not run.ok:
                    raise BenchError(f"service ({name}) {step} failed: {run.error}")


# --- report --------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _side(scenario: Scenario, name: str) -> dict[str, Any] | None:
    """The median figures of one side (after / before), or None when it was not run."""
    runs: list[ServiceRun] = getattr(scenario, name)
    if not runs or not scenario.baselines:
        return None
    combined = combine_runs(scenario.source, runs)
    raw = combine_baselines(scenario.source, scenario.baselines).seconds
    seconds = combined.end_to_end_seconds
    return {
        "seconds": seconds,
        "spread": spread([t for r in runs if (t := r.end_to_end_seconds)]),
        "ratio": raw / seconds if seconds else None,
        "peak_rss_mib": combined.peak_rss_mib,
        "upload_seconds": combined.upload_seconds,
        "processing_seconds": combined.processing_seconds,
        "ok": combined.ok,
        "combined": combined,
    }


def report(scenarios: list[Scenario], meta: dict[str, Any]) -> list[dict[str, Any]]:
    sides = ["before", "after"] if meta["before"] else ["after"]
    head = f"{'file':<22}{'MB':>9}{'raw s':>9}"
    for side in sides:
        head += f"{side + ' s':>11}{'min-max':>13}{'upload':>8}{'process':>8}{'ratio':>7}"
        head += f"{'peak MiB':>10}"
    lines = [
        "",
        "Upload -> succeeded against raw Polars (seconds, medians; upload: until the 202; "
        "process: the task's started -> finished; peak RSS: maximum)",
        head,
    ]
    for s in scenarios:
        raw = combine_baselines(s.source, s.baselines).seconds if s.baselines else None
        line = f"{s.source.label:<22}{s.source.size_bytes / MB:>9,.1f}{_fmt(raw):>9}"
        for side in sides:
            got = _side(s, side) or {}
            line += f"{_fmt(got.get('seconds')):>11}{got.get('spread', '-'):>13}"
            line += f"{_fmt(got.get('upload_seconds')):>8}{_fmt(got.get('processing_seconds')):>8}"
            line += f"{_fmt(got.get('ratio')):>7}{_fmt(got.get('peak_rss_mib'), 0):>10}"
        lines.append(line)
    targets = _targets(scenarios)
    lines += ["", "Targets of issue 28 (the current code; reported, never a failure):"]
    lines += [f"  {t['name']}: {t['verdict']} ({t['detail']})" for t in targets]
    info = meta["machine"]
    lines += [
        "",
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB RAM, "
        f"Linux {info['kernel']}; load {info['load_before']} at start, {meta['load_after']} at end",
        f"date: {meta['date']}; python {meta['python']}, polars {meta['polars']}; "
        f"before: {meta['before'] or 'not run'}; repeats {meta['repeat']}",
        f"command: {meta['command']}",
    ]
    print("\n".join(lines), flush=True)
    return targets


def _targets(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    targets = []
    for s in scenarios:
        ratio = (_side(s, "after") or {}).get("ratio")
        goal = RATIO_TARGETS[s.fmt]
        verdict = "n/a" if ratio is None else ("met" if ratio >= goal else "MISSED")
        detail = "no figure" if ratio is None else f"{ratio:.2f}"
        targets.append(
            {
                "name": f"{s.source.label} ratio >= {goal}",
                "verdict": verdict,
                "detail": detail,
                "value": ratio,
            }
        )
    for fmt in ("parquet", "parquet-typed"):
        peaks = [p for s in scenarios if s.fmt == fmt and (p := _peak(s)) is not None]
        if not peaks:
            continue
        worst = max(peaks)
        targets.append(
            {
                "name": f"{fmt} server peak RSS < {RSS_TARGET_MIB:.0f} MiB",
                "verdict": "met" if worst < RSS_TARGET_MIB else "MISSED",
                "detail": f"{worst:.0f} MiB",
                "value": worst,
            }
        )
        if len(peaks) > 1:
            growth = peaks[-1] / peaks[0] - 1
            targets.append(
                {
                    "name": f"{fmt} peak RSS flat, smallest -> largest file",
                    "verdict": "met" if growth <= FLAT_TOLERANCE else "MISSED",
                    "detail": f"{peaks[0]:.0f} -> {peaks[-1]:.0f} MiB, {growth:+.0%}",
                    "value": growth,
                }
            )
    return targets


def _peak(scenario: Scenario) -> float | None:
    side = _side(scenario, "after")
    return side["peak_rss_mib"] if side else None


def record(scenarios: list[Scenario]) -> list[dict[str, Any]]:
    def runs(items: list[ServiceRun]) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(r).items() if k != "server_log"} for r in items]

    out = []
    for s in scenarios:
        sides = {}
        for name in ("after", "before"):
            got = _side(s, name)
            sides[name] = None if got is None else {k: v for k, v in got.items() if k != "combined"}
        out.append(
            {
                "format": s.fmt,
                "label": s.source.label,
                "path": str(s.source.path),
                "rows": s.source.rows,
                "size_mb": s.source.size_bytes / MB,
                "raw_polars_runs": [asdict(b) for b in s.baselines],
                **sides,
                "after_runs": runs(s.after),
                "before_runs": runs(s.before),
            }
        )
    return out


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small files, one run")
    parser.add_argument("--formats", default=DEFAULT_FORMATS, help=f"of {', '.join(FORMATS)}")
    for fmt in ("csv", "parquet", "excel"):
        parser.add_argument(f"--{fmt}-rows", help=f"rows of each {fmt} file, comma-separated")
    parser.add_argument("--before", type=Path, help="also run the service from this checkout")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="where inputs are kept")
    parser.add_argument("--repeat", type=int, help="runs of each measurement (default 3)")
    parser.add_argument("--worker-concurrency", type=int, default=None)
    parser.add_argument("--poll-interval", type=float, default=0.1, help="status poll, seconds")
    parser.add_argument("--task-timeout", type=float, default=1800, help="seconds per task")
    parser.add_argument("--keep", action="store_true", help="keep the temporary server folders")
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "full"
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if unknown := [f for f in args.formats if f not in FORMATS]:
        parser.error(f"unknown format(s) {unknown}; choose among {', '.join(FORMATS)}")
    for fmt in ("csv", "parquet", "excel"):
        text = getattr(args, f"{fmt}_rows") or ROWS[size][fmt]
        setattr(args, f"{fmt}_rows", [int(n) for n in text.split(",")])
    if args.before and not (args.before / "backend").is_dir():
        parser.error(f"--before {args.before} is not a checkout (no backend folder)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = utc_now()
    meta: dict[str, Any] = {
        "date": started.isoformat(),
        "command": command_line(),
        "python": sys.version.split()[0],
        "polars": pl.__version__,
        "repeat": args.repeat,
        "before": str(args.before) if args.before else None,
        "machine": machine("polars", "uvicorn", "fastexcel"),
    }
    failures: list[str] = []
    scenarios: list[Scenario] = []
    workroot = Path(tempfile.mkdtemp(prefix="upload-formats-"))
    try:
        for fmt in args.formats:
            rows = getattr(args, f"{fmt.split('-')[0]}_rows")
            scenarios += [Scenario(fmt, make_input(fmt, n, args.data_dir)) for n in rows]
        run_all(args, scenarios, workroot)
    except BenchError as exc:
        failures.append(str(exc))
    finally:
        if args.keep:
            print(f"kept {workroot}", file=sys.stderr)
        else:
            shutil.rmtree(workroot, ignore_errors=True)
    meta["load_after"] = load_average()
    targets = report(scenarios, meta)
    for failure in failures:
        print(f"FAILED: {failure}", flush=True)
    result = {
        **meta,
        "ok": not failures,
        "failures": failures,
        "targets": targets,
        "files": record(scenarios),
    }
    write_results("upload_formats", result, started)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

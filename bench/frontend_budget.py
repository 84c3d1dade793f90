"""The frontend's budgets: initial JavaScript <= 300 KB gzipped, and the dashboard rendered from
data.csv in < 1.5 s in headless Chromium (first load, local server).

Run it from the repository root after `make install` (it needs frontend/dist, npm's packages in
frontend/node_modules and /usr/bin/chromium):

    .venv/bin/python bench/frontend_budget.py            # 5 first loads
    .venv/bin/python bench/frontend_budget.py --runs 10
    .venv/bin/python bench/frontend_budget.py --quick    # one first load

1. Starts `uvicorn backend.main:app` (the flags of `make run`) on a fresh temporary SQLite database and storage folder,
   creates an admin token, uploads data.csv and waits for the task to succeed.
2. frontend/scripts/budget.mjs opens / in headless Chromium `--runs` times, each in a fresh
   browser context (empty cache), and reads `performance.now()` (milliseconds since navigation
   started) when all 12 widgets are ready and every chart has drawn; it also lists the scripts
   the browser fetched for that first load.
3. Those scripts, read from frontend/dist and gzipped (level 6, what a server's gzip would send),
   are the initial JavaScript. Prints a table and writes the figures to
   bench/results/frontend_budget-<UTC time>.json. A missed budget is reported,
   not an error; the exit status is non-zero only when something failed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    REPO_ROOT,
    BenchError,
    machine,
    server_env,
    uvicorn_server,
    wait_for_task,
    write_results,
)

FRONTEND = REPO_ROOT / "frontend"
DIST = FRONTEND / "dist"
CHROMIUM = Path("/usr/bin/chromium")
JS_BUDGET_KB = 300.0
RENDER_BUDGET_MS = 1500.0


def gzipped_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=6)) / 1000


def load_data_csv(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with (REPO_ROOT / "data.csv").open("rb") as handle:
        answer = httpx.post(
            f"{url}/api/ingest/upload",
            files={"file": ("data.csv", handle, "text/csv")},
            data={"datasource_name": "sales"},
            headers=headers,
            timeout=60,
        )
    if answer.status_code not in (200, 202):
        raise BenchError(f"upload answered {answer.status_code}: {answer.text}")
    task = wait_for_task(url, answer.json()["task_id"], timeout=120, headers=headers)
    if task["status"] != "succeeded":
        raise BenchError(f"data.csv did not load: {task}")


def first_loads(url: str, token: str, runs: int) -> list[dict[str, Any]]:
    env = {**os.environ, "BASE_URL": url, "ADMIN_TOKEN": token, "RUNS": str(runs)}
    done = subprocess.run(
        ["node", "scripts/budget.mjs"],
        cwd=FRONTEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"scripts/budget.mjs failed:\n{done.stdout}\n{done.stderr}")
    result: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])["runs"]
    return result


def measure(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="frontend-budget-") as work:
        env = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{work}/metadata.db",
            "STORAGE_URL": f"{work}/storage",
            "AUTH_ANONYMOUS_ROLE": "none",
            "RATE_LIMIT_PER_MINUTE": "0",
        }
        full_env = server_env(env)
        python = [sys.executable, "-m", "backend"]
        subprocess.run([*python, "migrate"], cwd=REPO_ROOT, env=full_env, check=True)
        token_file = Path(work) / "admin-token"
        subprocess.run(
            [*python, "tokens", "ensure-admin", "--file", str(token_file)],
            cwd=REPO_ROOT,
            env=full_env,
            check=True,
            capture_output=True,
        )
        token = token_file.read_text(encoding="utf-8").strip()
        with uvicorn_server(full_env, Path(work) / "server.log") as server:
            load_data_csv(server.url, token)
            loads = first_loads(server.url, token, runs)
    scripts = sorted({s for load in loads for s in load["scripts"]})
    sizes = {s: gzipped_kb(DIST / s.lstrip("/")) for s in scripts}
    rendered = [float(load["renderedMs"]) for load in loads]
    return {
        "initial_js_gzip_kb": round(sum(sizes.values()), 1),
        "scripts_gzip_kb": {s: round(kb, 1) for s, kb in sizes.items()},
        "rendered_ms": [round(r) for r in rendered],
        "rendered_ms_median": round(statistics.median(rendered)),
        "rendered_ms_max": round(max(rendered)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="first loads to time (default 5)")
    parser.add_argument("--quick", action="store_true", help="one first load")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    missing = [
        what
        for what, ok in (
            ("frontend/dist (run make install)", (DIST / "index.html").is_file()),
            ("frontend/node_modules (run make install)", (FRONTEND / "node_modules").is_dir()),
            ("node (apt-get install nodejs)", shutil.which("node") is not None),
            (f"{CHROMIUM} (apt-get install chromium)", CHROMIUM.exists()),
        )
        if not ok
    ]
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 2
    try:
        result = measure(args.runs)
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    js_ok = result["initial_js_gzip_kb"] <= JS_BUDGET_KB
    render_ok = result["rendered_ms_median"] < RENDER_BUDGET_MS
    print("Scripts fetched by the dashboard's first load (gzip level 6):")
    for script, kb in result["scripts_gzip_kb"].items():
        print(f"  {script:<48} {kb:>8.1f} KB")
    print(
        f"Initial JavaScript: {result['initial_js_gzip_kb']:.1f} KB gzipped "
        f"(budget <= {JS_BUDGET_KB:.0f} KB): {'met' if js_ok else 'MISSED'}"
    )
    print(
        f"Dashboard rendered (all widgets, data.csv), {args.runs} first loads: median "
        f"{result['rendered_ms_median']} ms, max {result['rendered_ms_max']} ms, all "
        f"{result['rendered_ms']} (budget < {RENDER_BUDGET_MS:.0f} ms): "
        f"{'met' if render_ok else 'MISSED'}"
    )
    write_results("frontend_budget", {**result, "machine": machine("uvicorn")})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

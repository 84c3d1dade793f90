"""Workbook listing latency: `GET /api/workbooks` over HTTP with 10,000 workbooks of 100 users.

Run it from the repository root:

    .venv/bin/python bench/workbooks_listing.py            # 10,000 workbooks, 200 requests each
    .venv/bin/python bench/workbooks_listing.py --quick    # 2,000 workbooks, 30 requests each
    .venv/bin/python bench/workbooks_listing.py --backend sqlite

For each backend (SQLite always; PostgreSQL when its server binaries are installed, in a
throwaway cluster started as the tests start theirs, tests/services.py):

1. migrates a fresh database and inserts the workbooks directly (SQL through the models, for
   speed): each owned by one of 100 users, 1 to 4 tags out of 40, half shared with everyone, a
   fifth shared with 3 named users, the rest private; 3 views each on average over the last 30
   days; the SQLite full-text table filled as the service fills it;
2. starts `uvicorn backend.main:app` (the flags of `make run`) on that database and, as a viewer
   (user-007, a token of theirs: the listing applies the visibility rules of a person, not an
   admin's), sends each scenario's request sequentially on one keep-alive connection;
3. prints p50/p95 per scenario and whether the target (p50 < 30 ms) is met, and writes every
   figure to bench/results/workbooks_listing-<UTC time>.json.

Exit status is non-zero only when something failed (a request not answering 200, the server);
a missed target is reported, not a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    BenchError,
    command_line,
    log_problems,
    machine,
    machine_line,
    ms,
    server_env,
    time_calls,
    utc_now,
    uvicorn_server,
    write_results,
)

TARGET_P50_MS = 30.0
USERS = 100
TAGS = [f"{w}" for w in ("finance", "weekly", "sales", "ops", "churn", "margin", "q1", "q2")] + [
    f"team-{n}" for n in range(32)
]
WORDS = ["revenue", "orders", "branch", "margin", "growth", "returns", "stock", "review"]
CALLER = "user-007"
# What is measured: each scenario's query parameters (limit 50, the REST default).
SCENARIOS: list[tuple[str, dict[str, str]]] = [
    ("recent", {}),
    ("tag", {"tags": "finance"}),
    ("two tags", {"tags": "finance,weekly"}),
    ("rare tag", {"tags": "team-7"}),
    ("q=", {"q": "revenue"}),
    ("q= two words", {"q": "revenue branch"}),
    ("q= + tag", {"q": "margin", "tags": "sales"}),
    ("popular", {"sort": "popular"}),
    ("popular + tag", {"sort": "popular", "tags": "ops"}),
    ("title", {"sort": "title"}),
    ("author", {"author": "user-042"}),
]


def _workbook_rows(count: int, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    now = dt.datetime.now(dt.UTC)
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in ("wb", "tag", "share", "event")}
    for number in range(count):
        wid = uuid.uuid4().hex
        tags = sorted(rng.sample(TAGS, rng.randint(1, 4)))
        title = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {number}"
        description = f"{rng.choice(WORDS)} by {rng.choice(WORDS)} and month"
        roll = rng.random()
        visibility = "shared" if roll < 0.5 else "users" if roll < 0.7 else "private"
        updated = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 90))
        rows["wb"].append(
            {
                "id": wid,
                "title": title,
                "description": description,
                "datasource": "sales",
                "filters": {},
                "widgets": [],
                "visibility": visibility,
                "owner": f"user-{number % USERS:03d}",
                "version": 1,
                "search_text": " ".join([title, description, *tags]),
                "created_at": updated,
                "updated_at": updated,
            }
        )
        rows["tag"] += [{"workbook_id": wid, "tag": t} for t in tags]
        if visibility == "users":
            for number_of_user in rng.sample(range(USERS), 3):
                handle = f"user-{number_of_user:03d}"
                rows["share"].append({"workbook_id": wid, "handle": handle, "created_at": now})
        for _ in range(rng.randint(0, 6)):
            when = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 29))
            handle = f"user-{rng.randrange(USERS):03d}"
            rows["event"].append({"workbook_id": wid, "handle": handle, "viewed_at": when})
    return rows


async def _seed(url: str, count: int) -> str:
    """Inserts the users and workbooks; returns a token of CALLER's."""
    from backend.auth import service as auth_service
    from backend.auth import users
    from backend.auth.roles import Role
    from backend.db import create_engine, create_sessionmaker, session_scope
    from backend.workbooks import models

    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    async with session_scope(sessions) as session:
        for n in range(USERS):
            await users.create(session, f"user-{n:03d}", Role.UPLOADER)
        created = await auth_service.create(
            session, name=None, role=Role.VIEWER, created_by="bench", user=CALLER
        )
    rows = _workbook_rows(count, random.Random(20261204))
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(models.Tag), [{"name": t, "created_at": now} for t in TAGS])
        await conn.execute(insert(models.Workbook), rows["wb"])
        await conn.execute(insert(models.WorkbookTag), rows["tag"])
        await conn.execute(insert(models.WorkbookShare), rows["share"])
        await conn.execute(insert(models.WorkbookViewEvent), rows["event"])
        if url.startswith("sqlite"):
            fts = [{"id": r["id"], "body": r["search_text"]} for r in rows["wb"]]
            sql = "INSERT INTO workbook_fts (workbook_id, body) VALUES (:id, :body)"
            await conn.execute(text(sql), fts)
        else:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return created.token


@contextmanager
def _database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'metadata.db'}"
        return
    from tests.services import start_postgres

    cluster = start_postgres()
    try:
        yield cluster.url("postgres")
    finally:
        cluster.stop()


def postgres_available() -> bool:
    from tests.services import _pg_bin_dir

    return _pg_bin_dir() is not None


def measure(backend: str, count: int, reps: int) -> dict[str, Any]:
    from backend import migrations

    workdir = Path(tempfile.mkdtemp(prefix="bench-workbooks-"))
    try:
        with _database(backend, workdir) as url:
            migrations.upgrade(url)
            token = asyncio.run(_seed(url, count))
            env = server_env(
                {
                    "DATABASE_URL": url,
                    "STORAGE_URL": str(workdir / "storage"),
                    "CACHE_DIR": str(workdir / "cache"),
                    "RATE_LIMIT_PER_MINUTE": "0",
                }
            )
            log = workdir / "server.log"
            with uvicorn_server(env, log) as server:
                figures = _requests(server.url, token, reps)
            problems = log_problems(log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"backend": backend, "workbooks": count, "scenarios": figures, "problems": problems}


def _requests(url: str, token: str, reps: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for name, params in SCENARIOS:
            answers: list[httpx.Response] = []

            def call(
                params: dict[str, str] = params, answers: list[httpx.Response] = answers
            ) -> None:
                answers.append(client.get("/api/workbooks", params=params))

            samples = time_calls(call, reps, warmups=5)
            bad = [a for a in answers if a.status_code != 200]
            if bad:
                raise BenchError(f"{name}: {bad[0].status_code} {bad[0].text[:300]}")
            figures[name] = {**ms(samples), "total": answers[-1].json()["total"], "params": params}
    return figures


def print_table(runs: list[dict[str, Any]]) -> None:
    print(f"\n{'backend':<10} {'scenario':<16} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8}  target")
    for run in runs:
        for name, f in run["scenarios"].items():
            met = "met" if f["p50"] < TARGET_P50_MS else "NOT met"
            print(
                f"{run['backend']:<10} {name:<16} {f['total']:>8} {f['p50']:>8.1f} "
                f"{f['p95']:>8.1f}  {met}"
            )
    worst = max(f["p50"] for run in runs for f in run["scenarios"].values())
    verdict = "met" if worst < TARGET_P50_MS else "NOT met"
    print(f"\ntarget p50 < {TARGET_P50_MS:.0f} ms in every scenario: {verdict} (worst {worst:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 workbooks, 30 requests each")
    parser.add_argument("--workbooks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    count, reps = (2_000, 30) if args.quick else (args.workbooks, args.requests)
    info = machine("sqlalchemy", "aiosqlite", "asyncpg")
    print(machine_line(info), flush=True)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    runs = []
    for backend in backends:
        if backend == "postgresql" and not postgres_available():
            print("PostgreSQL skipped: its server binaries are not installed", flush=True)
            continue
        print(f"{backend}: {count:,} workbooks, {reps} requests a scenario ...", flush=True)
        runs.append(measure(backend, count, reps))
    print_table(runs)
    record = {"command": command_line(), "when": utc_now(), "machine": info, "runs": runs}
    write_results("workbooks_listing", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: one quarter of N forms through the real Airflow scheduler against
``commune-reports run`` on the same inbox, in one script.

    .venv/bin/python scripts/bench_scheduler.py [--units N] [--repeat R]
        [--chunk-files F] [--executor LocalExecutor|CeleryExecutor] [--json FILE]

Setup (not timed): the synthetic catalog and forms of ``scripts/bench.py`` (N communes of
2023Q4), and a real deployment (``tests/deployment/stack.py``: API server, scheduler, DAG
processor, triggerer, PostgreSQL metadata) whose warehouse is PostgreSQL. Then, interleaved so
that the machine's noise hits both alike, R times each:

- the command line: ``commune-reports run --periods 2023Q4`` in a fresh process, on a fresh
  PostgreSQL warehouse and an empty archive, timed from start to exit;
- the scheduler: a run of ``commune_reports_quarterly`` triggered through the REST API on a
  fresh warehouse and archive, timed from the trigger to the client seeing it succeed (polled
  every 0.2 s), with the per-task times Airflow recorded.

Both must accept all N forms. Prints medians and the ratio; nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import bench  # noqa: E402  (the synthetic catalog and forms)

from tests.deployment.stack import Stack, create_database, drop_database  # noqa: E402

DAG_ID = "commune_reports_quarterly"


def warehouse_counts(url: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(text("SELECT status, COUNT(*) FROM submissions GROUP BY status")).all()
        )
        facts = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
    engine.dispose()
    return {"statuses": statuses, "facts": facts}


def check(label: str, counts: dict[str, Any], n: int) -> None:
    if counts["statuses"] != {"accepted": n}:
        raise SystemExit(f"{label}: not all {n} forms accepted: {counts}")


def fresh_home(home: Path) -> None:
    """An empty archive, quarantine and reports (the inbox lives elsewhere)."""
    for part in ("archive", "quarantine", "reports"):
        shutil.rmtree(home / part, ignore_errors=True)
    if hasattr(os, "sync"):
        os.sync()


def cli_run(work: Path, env: dict[str, str], n: int, repeat: int) -> dict[str, Any]:
    url = create_database("bench_cli")
    home = work / "cli-home"
    fresh_home(home)
    run_env = env | {"COMMUNE_REPORTS_HOME": str(home), "COMMUNE_REPORTS_WAREHOUSE_URL": url}
    command = [str(Path(sys.executable).with_name("commune-reports")), "run", "--periods"]
    started = time.perf_counter()
    done = subprocess.run([*command, bench.PERIOD_CODE], env=run_env, capture_output=True)
    seconds = time.perf_counter() - started
    try:
        if done.returncode not in (0, 3):
            raise SystemExit(f"cli run {repeat} failed: {done.stderr.decode()[-3000:]}")
        counts = warehouse_counts(url)
    finally:
        drop_database(url)
    check(f"cli run {repeat}", counts, n)
    return {"seconds": seconds, **counts}


def reset_stack_warehouse(stack: Stack) -> None:
    """Drop and recreate the stack's warehouse database (same name, so the Airflow
    connection stays valid) and empty its archive."""
    from sqlalchemy import create_engine, text

    from tests.deployment.stack import PG_ADMIN

    name = stack.warehouse_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    fresh_home(stack.home)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def scheduler_run(stack: Stack, n: int, repeat: int) -> dict[str, Any]:
    reset_stack_warehouse(stack)
    started = time.perf_counter()
    run_id = stack.trigger(DAG_ID, {"periods": bench.PERIOD_CODE})
    while True:
        run = stack.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed"):
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if run["state"] != "success":
        raise SystemExit(stack.describe_failure(DAG_ID, run_id))
    counts = warehouse_counts(stack.warehouse_url)
    check(f"scheduler run {repeat}", counts, n)
    begin = _time(run["start_date"])
    tasks = []
    ran = [t for t in stack.task_instances(DAG_ID, run_id) if t["state"] != "skipped"]
    for ti in sorted(ran, key=lambda t: t["start_date"]):  # skipped: the approval, not asked
        tasks.append(
            {
                "task": ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""),
                "queued_at": (_time(ti["queued_when"]) - begin).total_seconds(),
                "started_at": (_time(ti["start_date"]) - begin).total_seconds(),
                "ended_at": (_time(ti["end_date"]) - begin).total_seconds(),
                "try": ti["try_number"],
            }
        )
    server = (_time(run["end_date"]) - begin).total_seconds()
    return {"seconds": seconds, "server_seconds": server, "tasks": tasks, **counts}


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(work: Path, args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """Make the synthetic quarter, start the deployment, run both ways in turn."""
    os.environ["COMMUNE_REPORTS_CATALOG_DIR"] = str(
        bench.build_catalog(work / "catalog", args.units)
    )
    inbox, _, _ = bench.build_inbox(work, args.units)
    project = {
        "COMMUNE_REPORTS_CATALOG_DIR": os.environ["COMMUNE_REPORTS_CATALOG_DIR"],
        "COMMUNE_REPORTS_INBOX": str(inbox),
        "COMMUNE_REPORTS_SETTLE_SECONDS": "0",
    }
    if args.chunk_files:
        project["COMMUNE_REPORTS_CHUNK_FILES"] = str(args.chunk_files)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNE_")} | project
    print(f"{args.units} forms in {inbox}; starting the deployment", file=sys.stderr)
    cli, scheduler = [], []
    with Stack(work / "stack", args.executor, env_extra=project) as stack:
        stack.unpause(DAG_ID)
        stack.wait_idle(DAG_ID)  # unpausing starts a run for the latest quarter: let it end
        for repeat in range(1, args.repeat + 1):
            cli.append(cli_run(work, env, args.units, repeat))
            print(f"cli run {repeat}: {cli[-1]['seconds']:.1f} s", file=sys.stderr)
            scheduler.append(scheduler_run(stack, args.units, repeat))
            print(f"scheduler run {repeat}: {scheduler[-1]['seconds']:.1f} s", file=sys.stderr)
    return cli, scheduler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-files", type=int, help="COMMUNE_REPORTS_CHUNK_FILES")
    parser.add_argument("--executor", default="LocalExecutor")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="commune-bench-scheduler-"))
    try:
        with bench.restored_environment(bench.ENV_KEYS):
            cli, scheduler = measure(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cli_median = statistics.median(r["seconds"] for r in cli)
    sched_median = statistics.median(r["seconds"] for r in scheduler)
    figures = {
        "units": args.units,
        "executor": args.executor,
        "chunk_files": args.chunk_files or int(os.environ.get("COMMUNE_REPORTS_CHUNK_FILES", 5000)),
        "cli_seconds": summary([r["seconds"] for r in cli]),
        "scheduler_seconds": summary([r["seconds"] for r in scheduler]),
        "scheduler_server_seconds": summary([r["server_seconds"] for r in scheduler]),
        "ratio_of_medians": sched_median / cli_median,
        "target_ratio": 1.3,
        "median_scheduler_run_tasks": sorted(scheduler, key=lambda r: r["seconds"])[
            len(scheduler) // 2
        ]["tasks"],
    }
    print(f"command line   : median {cli_median:6.1f} s  {figures['cli_seconds']}")
    print(f"scheduler      : median {sched_median:6.1f} s  {figures['scheduler_seconds']}")
    print(f"ratio          : {figures['ratio_of_medians']:.2f} (target <= 1.3)")
    print("tasks of the median scheduler run (s from the run's start):")
    for t in figures["median_scheduler_run_tasks"]:
        print(
            f"  {t['task']:<28} queued {t['queued_at']:6.2f}  started {t['started_at']:6.2f}"
            f"  ended {t['ended_at']:6.2f}  try {t['try']}"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

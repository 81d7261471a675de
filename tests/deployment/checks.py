"""What the deployment tests assert about runs, tasks and the warehouse."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from commune_reports.report import figure_rows, load_figures
from commune_reports.warehouse import get_engine
from tests.deployment.stack import Stack
from tests.golden import ONLINE_FILING, SESSIONS_2021_2023, figure
from tests.servers import SmtpServer

DATA_TEAM = "dulieu@thapmuoi.example.vn"  # where the deployments' retry and failure notices go
COLLECTION = ("commune_reports_quarterly", "commune_reports_yearly")
# runs a backfill of 2021-01-01 .. 2023-12-31 creates: the quarterly DAG fires on the 20th of
# each quarter's last month, the yearly one on 1 April and 20 December
BACKFILL_RUNS = {"commune_reports_quarterly": 12, "commune_reports_yearly": 6}


# skipped by ``approval_request`` when the run asks no approval (manual runs, backfills)
APPROVAL_TASKS = {"approve_report", "record_decision"}


def first_try_only(stack: Stack, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every task of the run succeeded, each on its first try (the approval tasks may be
    skipped: nothing was asked)."""
    tis = stack.task_instances(dag_id, run_id)
    assert tis, (dag_id, run_id)
    bad = [
        (t["task_id"], t["map_index"], t["state"], t["try_number"])
        for t in tis
        if not (t["state"] == "skipped" and t["task_id"] in APPROVAL_TASKS)
        and (t["state"] != "success" or t["try_number"] != 1)
    ]
    assert bad == [], f"{dag_id} {run_id}: {bad}"
    return tis


def quarter_through_the_rest_api(stack: Stack, period: str) -> list[dict[str, Any]]:
    """Unpause the quarterly DAG, let the run that starts end, trigger ``period`` through the
    REST API; the run succeeds on first tries and loads the 19 units' forms of the period."""
    dag_id = "commune_reports_quarterly"
    stack.unpause(dag_id)
    stack.wait_idle(dag_id)  # unpausing starts a run for the latest quarter due
    run_id = stack.trigger(dag_id, {"periods": period})
    stack.wait_run(dag_id, run_id)
    tis = first_try_only(stack, dag_id, run_id)
    with get_engine(stack.warehouse_url).connect() as conn:
        units = conn.execute(
            text("SELECT COUNT(DISTINCT unit_code) FROM facts WHERE period_code = :p"),
            {"p": period},
        ).scalar_one()
        statuses = dict(
            conn.execute(
                text(
                    "SELECT status, COUNT(*) FROM submissions WHERE period_code = :p "
                    "GROUP BY status"
                ),
                {"p": period},
            ).all()
        )
    assert units == 19 and statuses == {"accepted": 19}
    return tis


def backfill(stack: Stack, timeout: float = 900) -> dict[str, list[dict[str, Any]]]:
    """Backfill both collection DAGs over 2021-2023 at Airflow's default concurrency, both
    created at once so that their runs overlap; wait for every run; return them by DAG."""
    for dag_id in COLLECTION:
        stack.unpause(dag_id)
    for dag_id in COLLECTION:
        stack.wait_idle(dag_id)  # the run an unpause starts for the latest date
    for dag_id in COLLECTION:
        stack.airflow(
            "backfill", "create", "--dag-id", dag_id,
            "--from-date", "2021-01-01", "--to-date", "2023-12-31",
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        done = {}
        for dag_id in COLLECTION:
            runs = [r for r in stack.runs(dag_id) if r["run_type"] == "backfill"]
            failed = [r for r in runs if r["state"] == "failed"]
            assert not failed, stack.describe_failure(dag_id, failed[0]["dag_run_id"])
            done[dag_id] = [r for r in runs if r["state"] == "success"]
        if all(len(done[d]) == n for d, n in BACKFILL_RUNS.items()):
            return done
        assert time.monotonic() < deadline, {d: len(r) for d, r in done.items()}
        time.sleep(2)


def backfill_on_first_tries(stack: Stack, smtp: SmtpServer) -> None:
    """The overlapping backfills, every task of every run on its first try, the golden figures
    in the warehouse and no alert about the long-past periods."""
    for dag_id, done in backfill(stack).items():
        for run in done:
            first_try_only(stack, dag_id, run["dag_run_id"])
    golden_figures(stack.warehouse_url)
    no_alerts_but_to_the_data_team(smtp, stack.warehouse_url, DATA_TEAM)


def no_alerts_but_to_the_data_team(smtp: SmtpServer, url: str, data_team: str) -> None:
    """A backfill of 2021-2023 acts for past days but reaches people today: no unit or district
    hears about periods whose alerts stopped long ago (the 2020 forms, never sent, included)."""
    others = [m["Subject"] for rcpts, m in smtp.inbox.messages if rcpts != [data_team]]
    assert others == []
    with get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alerts_sent")).scalar_one() == 0


def golden_figures(url: str) -> None:
    """The 2024 district report's figures, from the deployment's warehouse: the 256 sessions
    and the four online-filing figures of 2022 and 2023."""
    rows = figure_rows(load_figures(get_engine(url), "2021..2023"))
    assert figure(rows, "dissemination_sessions", "all", "2021..2023") == SESSIONS_2021_2023
    for (year, level), (online, total, rate) in ONLINE_FILING.items():
        assert figure(rows, "dossiers_received_online", level, year) == online
        assert figure(rows, "dossiers_received_total", level, year) == total
        assert figure(rows, "online_filing_rate", level, year) == rate

"""DAG integrity and policy: the folder is anchored on this file, so an empty bag fails."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
COLLECTION = {"commune_reports_quarterly", "commune_reports_yearly"}
EXPECTED = COLLECTION | {"commune_reports_alerts_daily", "commune_reports_discovery"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors_and_expected_dags(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED
    for dag_id in EXPECTED:
        assert (DAGS / f"{dag_id}.py").exists(), "file name = dag_id"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_policy(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert "commune-reports" in dag.tags
    assert dag.doc_md and len(dag.doc_md) > 100
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.on_failure_callback, "every DAG has a failure route"
    for task in dag.tasks:
        assert task.retries >= 1, task.task_id
        assert task.on_failure_callback, task.task_id
        assert task.on_retry_callback, task.task_id  # a retry is told, not only a failure


@pytest.mark.parametrize("dag_id", sorted(COLLECTION))
def test_collection_graph(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert "periods" in dag.params
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:5] == [
        "take_from_sources",
        "discover",
        "parse_and_validate",
        "load",
        "build_marts",
    ]
    # a source that cannot be read fails its task (told), and the inbox is still collected
    assert dag.task_dict["discover"].trigger_rule == "all_done"
    assert set(order[5:]) == {
        "publish_report",
        "send_deadline_alerts",
        "send_file_notices",
        "approval_request",
        "approve_report",
        "record_decision",
    }
    # files are parsed and validated by one mapped task per chunk of the run, then loaded once
    checking = dag.task_dict["parse_and_validate"]
    assert type(checking).__name__.endswith("MappedOperator")
    assert dag.task_dict["load"].upstream_task_ids == {"discover", "parse_and_validate"}
    assert "build_marts" in dag.task_dict["send_deadline_alerts"].upstream_task_ids
    # rejected files are told even when a chunk or the load failed
    notices = dag.task_dict["send_file_notices"]
    assert notices.upstream_task_ids == {"load", "parse_and_validate"}
    assert notices.trigger_rule == "all_done"
    # the district approves the published report in the UI's required actions (standard
    # provider's human-in-the-loop operator), and the answer is recorded after
    assert "approval" in dag.params
    assert dag.task_dict["approval_request"].upstream_task_ids == {"load", "publish_report"}
    answer = dag.task_dict["approve_report"]
    assert type(answer).__name__ == "HITLOperator"
    assert answer.upstream_task_ids == {"approval_request"}
    assert set(answer.params) == {"note"}  # not the DAG's own params
    assert dag.task_dict["record_decision"].upstream_task_ids == {
        "approve_report",
        "approval_request",
    }


def test_alerts_graph(dagbag) -> None:
    dag = dagbag.dags["commune_reports_alerts_daily"]
    assert [t.task_id for t in dag.topological_sort()] == [
        "open_periods",
        "collect",
        "send_reminders_and_escalations",
    ]


def test_parsing_imports_nothing_heavy() -> None:
    """Parse each DAG file in a fresh interpreter: it adds no pandas, GX, numpy or database
    module to what ``airflow.sdk`` already loads, and prints how long each file takes."""
    code = f"""
import json, pathlib, runpy, sys, time
import airflow.sdk
before = set(sys.modules)
out = {{}}
for path in sorted(pathlib.Path({str(DAGS)!r}).glob("*.py")):
    start = time.perf_counter()
    runpy.run_path(str(path))
    out[path.name] = time.perf_counter() - start
new = set(sys.modules) - before
heavy = sorted(m for m in new if m.split(".")[0] in
    {{"pandas", "great_expectations", "sqlalchemy", "psycopg", "openpyxl", "python_calamine",
      "numpy"}})
print(json.dumps({{"seconds": out, "heavy": heavy}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    assert set(report["seconds"]) == {f"{d}.py" for d in EXPECTED}
    print("DAG file parse seconds (after airflow.sdk import):", report["seconds"])


def test_schedules_fire_after_the_deadlines(dagbag) -> None:
    """The cron in each DAG file must follow the catalog's deadlines for years to come."""
    import pendulum

    from commune_reports.catalog import load_catalog
    from commune_reports.periods import Period, deadline, period_due_before

    regimes = load_catalog().regimes
    tz = pendulum.timezone("Asia/Ho_Chi_Minh")
    quarterly = dagbag.dags["commune_reports_quarterly"].timetable
    yearly = dagbag.dags["commune_reports_yearly"].timetable
    for year in range(2021, 2031):
        for quarter in range(1, 5):
            period = Period(year, quarter)
            due = deadline(period, regimes["quarterly"])
            fire = _next_fire(quarterly, dt.datetime.combine(due, dt.time(), tz))
            assert fire.date() > due
            assert period_due_before(fire.date(), regimes["quarterly"]) == period
        year_period = Period(year, 0)
        for regime in ("yearly", "evaluation"):
            due = deadline(year_period, regimes[regime])
            fire = _next_fire(yearly, dt.datetime.combine(due, dt.time(), tz))
            assert fire.date() > due
            assert period_due_before(fire.date(), regimes[regime]) == year_period


def _next_fire(timetable, after: dt.datetime) -> dt.datetime:
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    info = coerce_to_core_timetable(timetable).next_dagrun_info(
        last_automated_data_interval=DataInterval(after, after),
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    return info.run_after.in_timezone("Asia/Ho_Chi_Minh")

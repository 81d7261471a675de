"""The project on a real Airflow deployment with LocalExecutor: API server, scheduler, DAG
processor and triggerer from .venv, PostgreSQL for the metadata and the warehouse. Runs are
started as an operator starts them (REST API v2, ``airflow backfill create``) and every task
runs in the Task SDK's supervised processes, not in-process as with ``dag.test()``."""

from __future__ import annotations

import os
import time
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.airflow_approval import ANSWER_TASK as APPROVAL_TASK
from commune_reports.airflow_approval import APPROVE
from commune_reports.periods import parse_period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import dispose_engine, get_engine
from tests.deployment.checks import (
    DATA_TEAM,
    backfill_on_first_tries,
    first_try_only,
    quarter_through_the_rest_api,
)
from tests.deployment.stack import Stack
from tests.servers import SmtpServer
from tests.snapshots import differences, snapshot

EXECUTOR = "LocalExecutor"
pytestmark = pytest.mark.deployment


def test_a_quarter_triggered_through_the_rest_api(stack: Stack) -> None:
    tis = quarter_through_the_rest_api(stack, "2023Q4")
    assert {t["task_id"] for t in tis} >= {"discover", "parse_and_validate", "load"}
    report = (stack.home / "reports" / "2023Q4.txt").read_text("utf-8")
    assert "Kỳ báo cáo: 2023Q4 (Quý IV/2023)" in report
    assert "cấp huyện tiếp nhận 721 hồ sơ, đạt 82,78%" in report


def test_overlapping_backfills_equal_serial_runs(
    stack: Stack,
    smtp: SmtpServer,
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backfill_on_first_tries(stack, smtp)

    # the same periods collected one after another, by the command line's code path, into a
    # second warehouse: the overlapping runs must have left exactly the same tables
    with get_engine(stack.warehouse_url).connect() as conn:
        codes = (
            conn.execute(text("SELECT DISTINCT period_code FROM periods ORDER BY period_code"))
            .scalars()
            .all()
        )
    monkeypatch.setenv("COMMUNE_REPORTS_HOME", str(tmp_path / "serial"))
    monkeypatch.setenv("COMMUNE_REPORTS_INBOX", str(stack.home / "inbox"))
    monkeypatch.setenv("COMMUNE_REPORTS_SETTLE_SECONDS", "0")
    settings = load_settings(postgres_url)
    for code in codes:
        run_periods(settings, [parse_period(code)])
    serial = snapshot(postgres_url)
    dispose_engine(postgres_url)
    assert differences(snapshot(stack.warehouse_url), serial) == []


def test_retries_and_a_failed_run_are_told_to_the_data_team(stack: Stack, smtp: SmtpServer) -> None:
    dag_id = "commune_reports_quarterly"
    stack.unpause(dag_id)
    stack.wait_idle(dag_id)
    smtp.inbox.messages.clear()
    run_id = stack.trigger(dag_id, {"periods": "2023"})  # a year, not a quarter: discover fails
    with pytest.raises(AssertionError, match="discover"):
        stack.wait_run(dag_id, run_id)
    error = "collects quarter periods, not 2023"

    def notices() -> list[tuple[str, str]]:
        return [
            (m["Subject"], _plain(m))
            for rcpts, m in smtp.inbox.messages
            if rcpts == [DATA_TEAM] and run_id in m["Subject"]
        ]

    deadline = time.monotonic() + 120  # the DAG-level notice comes from the DAG processor
    while time.monotonic() < deadline and not any("Run failed" in s for s, _ in notices()):
        time.sleep(1)
    sent = notices()
    retries = [body for subject, body in sent if "Retry" in subject]
    failures = [body for subject, body in sent if "Failure" in subject]
    dag_failed = [body for subject, body in sent if "Run failed" in subject]
    assert len(retries) == 2 and len(failures) == 1 and len(dag_failed) == 1, sent
    assert "try 1/3" in retries[0] and "try 2/3" in retries[1]
    assert "(Asia/Ho_Chi_Minh)" in retries[0]
    for body in retries + failures + dag_failed:
        assert "discover" in body and error in body, body
    assert "failed at task discover: ValueError: " in dag_failed[0]


def _plain(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""


def test_the_light_discovery_records_new_files_as_received_now(stack: Stack) -> None:
    """A form put in the inbox folder of a period open today is recorded by the discovery
    DAG's run as received (the server's time, within the run), and nothing more is done."""
    import datetime as dt

    from commune_reports.alerts import delivery_periods
    from commune_reports.catalog import load_catalog
    from commune_reports.template import write_form

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    period = next(p for p in delivery_periods(today, load_catalog()) if p.quarter)
    form = write_form("30037", period.code, stack.home / "inbox" / period.code / "moi.xlsx")
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(form, (old, old))  # what the sender's clock says does not matter
    dag_id = "commune_reports_discovery"
    stack.unpause(dag_id)  # which also starts a run for the latest quarter-hour
    run_id = stack.trigger(dag_id, {})
    stack.wait_run(dag_id, run_id)
    first_try_only(stack, dag_id, run_id)
    with get_engine(stack.warehouse_url).connect() as conn:
        row = conn.execute(
            text(
                "SELECT status, received_via, received_at, batch_id FROM submissions "
                "WHERE original_name = 'moi.xlsx'"
            )
        ).one()
    assert (row.status, row.received_via) == ("received", "inbox")
    assert row.batch_id.startswith("discovery-")
    received = row.received_at.astimezone(dt.UTC)
    assert now - dt.timedelta(seconds=5) <= received <= dt.datetime.now(dt.UTC)
    stack.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": True})


def _answer_when_asked(
    stack: Stack, dag_id: str, run_id: str, choice: str, note: str, timeout: float = 300
) -> dict:
    """Wait until the run's approval appears among the required actions (its HITL detail),
    answer it through the REST API as the admin and wait for the run; return what was
    asked."""
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{APPROVAL_TASK}/-1/hitlDetails"
    deadline = time.monotonic() + timeout
    while True:
        try:
            asked = stack.api("GET", path)
            break
        except RuntimeError as exc:
            assert "404" in str(exc), exc
            assert time.monotonic() < deadline, f"{run_id}: no approval asked in {timeout} s"
            state = stack.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            assert state in ("queued", "running"), stack.describe_failure(dag_id, run_id)
            time.sleep(1)
    # answer only once the scheduler has taken in that the task paused: Airflow 3.3.2 retries
    # the task (and asks again) when the answer comes before the executor's report of the paused
    # try has been processed (the scheduler takes the resumed, queued task for one killed
    # externally), which a fast answer on a loaded machine does
    while True:
        ti = next(t for t in stack.task_instances(dag_id, run_id) if t["task_id"] == APPROVAL_TASK)
        if ti["state"] == "awaiting_input":
            seen = (
                "Received executor event with state success for task instance TaskInstanceKey("
                f"dag_id='{dag_id}', task_id='{APPROVAL_TASK}', run_id='{run_id}', "
                f"try_number={ti['try_number']},"
            )
            if seen in (stack.logs / "scheduler.log").read_text(errors="replace"):
                break
        assert time.monotonic() < deadline, f"{run_id}: {ti['state']}"
        time.sleep(0.5)
    stack.api("PATCH", path, json={"chosen_options": [choice], "params_input": {"note": note}})
    stack.wait_run(dag_id, run_id)
    tries = {t["task_id"]: t["try_number"] for t in stack.task_instances(dag_id, run_id)}
    assert tries[APPROVAL_TASK] == ti["try_number"], tries  # answered once, not asked again
    return asked


def _latest_decision(engine, period: str):
    """The latest decision recorded on the quarterly report of ``period``."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT decision, decided_by, via, note, corrections_applied FROM "
                "period_approvals WHERE regime = 'quarterly' AND period_code = :p "
                "ORDER BY seq DESC"
            ),
            {"p": period},
        ).first()


def test_the_district_approves_in_airflow_and_a_later_file_waits(stack: Stack) -> None:
    """A run asked to (``approval: yes``) puts the report among the UI's required actions; the
    answer is recorded with who gave it. A changed file for the approved quarter is then held:
    a run changes no figure, and the next approval applies exactly that unit's change."""
    import openpyxl

    dag_id, period = "commune_reports_quarterly", "2022Q4"
    stack.unpause(dag_id)
    deadline = time.monotonic() + 300  # a run an earlier test failed on purpose may be there
    while any(r["state"] in ("queued", "running") for r in stack.runs(dag_id)):
        assert time.monotonic() < deadline
        time.sleep(1)
    engine = get_engine(stack.warehouse_url)
    run_id = stack.trigger(dag_id, {"periods": period, "approval": "yes"})
    asked = _answer_when_asked(stack, dag_id, run_id, APPROVE, "đã rà soát")
    assert period in asked["subject"] and "Approve the report of 2022Q4" in asked["body"]
    assert "Kỳ báo cáo: 2022Q4" in asked["body"]
    decision = _latest_decision(engine, period)
    assert (decision.decision, decision.decided_by, decision.via, decision.note) == (
        "approved",
        "admin",
        "airflow",
        "đã rà soát",
    )
    assert "approved by admin" in (stack.home / "reports" / f"{period}.txt").read_text("utf-8")

    def facts() -> dict:
        with engine.connect() as conn:
            return {
                (r.unit_code, r.metric_code): r.value
                for r in conn.execute(
                    text("SELECT unit_code, metric_code, value FROM facts WHERE period_code = :p"),
                    {"p": period},
                )
            }

    before = facts()
    book = openpyxl.load_workbook(stack.home / "inbox" / period / f"872-MC_{period}.xlsx")
    row = next(r for r in book.active.iter_rows() if r[1].value == "dossiers_received_online")
    row[4].value = int(row[4].value) - 100
    book.save(stack.home / "inbox" / period / f"872-MC_{period}_sua.xlsx")

    held = stack.trigger(dag_id, {"periods": period})  # a manual run asks nothing by default
    stack.wait_run(dag_id, held)
    first_try_only(stack, dag_id, held)
    assert facts() == before
    report = (stack.home / "reports" / f"{period}.txt").read_text("utf-8")
    assert "1 pending correction, not in the figures above" in report

    again = stack.trigger(dag_id, {"periods": period, "approval": "yes"})
    asked = _answer_when_asked(stack, dag_id, again, APPROVE, "")
    assert "applies 1 pending correction " in asked["body"]
    assert "dossiers_received_online [" in asked["body"]
    after = facts()
    assert {k for k in after if after[k] != before.get(k)} == {
        ("872-MC", "dossiers_received_online")
    }
    assert (
        after[("872-MC", "dossiers_received_online")]
        == before[("872-MC", "dossiers_received_online")] - 100
    )
    applied = _latest_decision(engine, period).corrections_applied
    assert applied == 1
    stack.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": True})

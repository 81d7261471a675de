"""The project on a real Airflow deployment with LocalExecutor: API server, scheduler, DAG
processor and triggerer from .venv, PostgreSQL for the metadata and the warehouse. Runs are
started as an operator starts them (REST API v2, ``airflow backfill create``) and every task
runs in the Task SDK's supervised processes, not in-process as with ``dag.test()``."""

from __future__ import annotations

import time
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.periods import parse_period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import dispose_engine, get_engine
from tests.deployment.checks import (
    DATA_TEAM,
    backfill_on_first_tries,
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

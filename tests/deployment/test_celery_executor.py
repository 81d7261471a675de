"""The same deployment with CeleryExecutor: an ``airflow celery worker`` takes the tasks from
the machine's Redis (the broker) and records results in PostgreSQL (the result backend), as
the compose file's ``celery`` profile runs it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from commune_reports.warehouse import get_engine
from tests.deployment.checks import (
    backfill,
    first_try_only,
    golden_figures,
    no_alerts_but_to_the_data_team,
)
from tests.deployment.conftest import DATA_TEAM
from tests.deployment.stack import Stack
from tests.servers import SmtpServer

EXECUTOR = "CeleryExecutor"
pytestmark = pytest.mark.deployment


def test_a_quarter_triggered_through_the_rest_api(stack: Stack) -> None:
    dag_id = "commune_reports_quarterly"
    stack.unpause(dag_id)
    stack.wait_idle(dag_id)
    run_id = stack.trigger(dag_id, {"periods": "2022Q3"})
    stack.wait_run(dag_id, run_id)
    first_try_only(stack, dag_id, run_id)
    with get_engine(stack.warehouse_url).connect() as conn:
        units = conn.execute(
            text("SELECT COUNT(DISTINCT unit_code) FROM facts WHERE period_code = '2022Q3'")
        ).scalar_one()
    assert units == 19
    worker_log = (stack.logs / "celery-worker.log").read_text(errors="replace")
    assert "commune_reports_quarterly" in worker_log  # the tasks ran on the Celery worker


def test_backfills_on_celery_workers(stack: Stack, smtp: SmtpServer) -> None:
    runs = backfill(stack)
    for dag_id, done in runs.items():
        for run in done:
            first_try_only(stack, dag_id, run["dag_run_id"])
    golden_figures(stack.warehouse_url)
    no_alerts_but_to_the_data_team(smtp, stack.warehouse_url, DATA_TEAM)

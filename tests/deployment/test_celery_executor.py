"""The same deployment with CeleryExecutor: an ``airflow celery worker`` takes the tasks from
the machine's Redis (the broker) and records results in PostgreSQL (the result backend), as
the compose file's ``celery`` profile runs it."""

from __future__ import annotations

import pytest

from tests.deployment.checks import backfill_on_first_tries, quarter_through_the_rest_api
from tests.deployment.stack import Stack
from tests.servers import SmtpServer

EXECUTOR = "CeleryExecutor"
pytestmark = pytest.mark.deployment


def test_a_quarter_triggered_through_the_rest_api(stack: Stack) -> None:
    quarter_through_the_rest_api(stack, "2022Q3")
    worker_log = (stack.logs / "celery-worker.log").read_text(errors="replace")
    assert "commune_reports_quarterly" in worker_log  # the tasks ran on the Celery worker


def test_backfills_on_celery_workers(stack: Stack, smtp: SmtpServer) -> None:
    backfill_on_first_tries(stack, smtp)

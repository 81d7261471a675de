"""The real deployment, started once per test module (one executor each) and shared by its
tests; see ``stack.py``. The data team's notices go to a real SMTP server started here."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployment.checks import DATA_TEAM
from tests.deployment.stack import Stack
from tests.remote_servers import DovecotServer
from tests.servers import SmtpServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[DovecotServer]:
    """The district's mailbox, a source of the deployment (empty until a test mails to it)."""
    server = DovecotServer()
    server.start()
    yield server
    server.stop()


MAILBOX = "hop-thu-huyen"


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    smtp: SmtpServer,
    mailbox: DovecotServer,
) -> Iterator[Stack]:
    """The deployment for the module's ``EXECUTOR``, with the sample inbox delivered and the
    district's mailbox as a source (its connection in the environment, as compose sets it)."""
    executor = request.module.EXECUTOR
    root = tmp_path_factory.mktemp(executor.lower())
    sources = root / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "{MAILBOX}"\nkind = "imap"\nconn_id = "commune_reports_imap"\n'
        'address = "baocao@thapmuoi.example.vn"\n'
    )
    env = {
        "COMMUNE_REPORTS_SOURCES": str(sources),
        "AIRFLOW_CONN_COMMUNE_REPORTS_IMAP": json.dumps(
            {
                "conn_type": "imap",
                "host": "127.0.0.1",
                "port": mailbox.port,
                "login": mailbox.user,
                "password": mailbox.password,
                "extra": {"use_ssl": False},
            }
        ),
        "COMMUNE_REPORTS_SETTLE_SECONDS": "0",
        "COMMUNE_REPORTS_SMTP_HOST": "127.0.0.1",
        "COMMUNE_REPORTS_SMTP_PORT": str(smtp.port),
        "COMMUNE_REPORTS_ALERT_TO": DATA_TEAM,
        # seconds between tries instead of Airflow's 300, so a failing run ends quickly
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
    }
    with Stack(root, executor, env_extra=env) as running:
        shutil.copytree(
            REPO / "include" / "sample_inbox", running.home / "inbox", dirs_exist_ok=True
        )
        yield running

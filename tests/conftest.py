"""Shared fixtures: an isolated Airflow home and project home per test session, and a fresh
PostgreSQL database per test on the machine's server (never mocked)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import SmtpServer, WebhookServer

REPO = Path(__file__).resolve().parents[1]
SAMPLE_INBOX = REPO / "include" / "sample_inbox"
PG_ADMIN_URL = os.environ.get(
    "COMMUNE_REPORTS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# Airflow reads its configuration on first import: point it at a throw-away home first.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="commune-reports-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = "Asia/Ho_Chi_Minh"
os.environ["GX_ANALYTICS_ENABLED"] = "False"
os.environ.pop("COMMUNE_REPORTS_WAREHOUSE_URL", None)
os.environ.pop("AIRFLOW_CONN_COMMUNE_REPORTS_WAREHOUSE", None)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the Airflow metadata database once per session (SQLite in the temp home)."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return _AIRFLOW_HOME


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project home (inbox, archive, embedded warehouse) for one test."""
    root = tmp_path / "home"
    (root / "inbox").mkdir(parents=True)
    monkeypatch.setenv("COMMUNE_REPORTS_HOME", str(root))
    monkeypatch.setenv("COMMUNE_REPORTS_INBOX", str(root / "inbox"))
    monkeypatch.delenv("COMMUNE_REPORTS_WAREHOUSE_URL", raising=False)
    return root


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new database on the local PostgreSQL server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    from commune_reports.warehouse import dispose_engine

    name = f"commune_reports_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(
    request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The warehouse URL of each engine the project supports: embedded SQLite (the default,
    COMMUNE_REPORTS_WAREHOUSE_URL unset) and the machine's PostgreSQL (set through it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("COMMUNE_REPORTS_WAREHOUSE_URL", url)
        yield url


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server for one test."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A real webhook endpoint for one test: its URL and the JSON bodies it received."""
    server = WebhookServer()
    server.start()
    yield server.url, server.received
    server.stop()

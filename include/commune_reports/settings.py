"""Where things live, from the environment, with safe embedded defaults.

``COMMUNE_REPORTS_HOME`` (default ``./data``) holds the inbox, archive, quarantine and the
embedded SQLite warehouse; ``COMMUNE_REPORTS_WAREHOUSE_URL`` selects another warehouse
(PostgreSQL). The DAGs may instead name an Airflow connection, resolved in the DAG task.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = Path(os.environ.get("COMMUNE_REPORTS_SQL_DIR", PROJECT_ROOT / "sql"))
SAMPLE_INBOX = PROJECT_ROOT / "include" / "sample_inbox"


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    inbox: Path

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def reports(self) -> Path:
        return self.home / "reports"


def load_settings(warehouse_url: str | None = None) -> Settings:
    """Read the environment now (not at import), so tests and tasks can set it first."""
    home = Path(os.environ.get("COMMUNE_REPORTS_HOME", "data")).resolve()
    url = warehouse_url or os.environ.get("COMMUNE_REPORTS_WAREHOUSE_URL", "")
    if not url:
        url = f"sqlite:///{home / 'warehouse.db'}"
    inbox = Path(os.environ.get("COMMUNE_REPORTS_INBOX", home / "inbox")).resolve()
    return Settings(home=home, warehouse_url=url, inbox=inbox)

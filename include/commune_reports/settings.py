"""Where things live, from the environment, with safe embedded defaults.

``COMMUNE_REPORTS_HOME`` (default ``./data``) holds the inbox, archive, quarantine, the kept
validation results and the embedded SQLite warehouse; ``COMMUNE_REPORTS_WAREHOUSE_URL`` selects
another warehouse (PostgreSQL). The DAGs may instead name an Airflow connection, resolved in the
DAG task. ``COMMUNE_REPORTS_VALIDATION_KEEP_DAYS`` (default 400: a year's results and a quarter,
as officials compare with last year) is how long validation results are kept
(:func:`commune_reports.publish.datadocs.prune`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VALIDATION_KEEP_DAYS = 400
SQL_DIR = Path(os.environ.get("COMMUNE_REPORTS_SQL_DIR", PROJECT_ROOT / "sql"))
SAMPLE_INBOX = PROJECT_ROOT / "include" / "sample_inbox"


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    inbox: Path
    # COMMUNE_REPORTS_VALIDATION_KEEP_DAYS as given ("" for the default); read as a number of
    # days only where it is used, so that a wrong value stops the pruning, not every command
    validation_keep_days_text: str = ""

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def validations(self) -> Path:
        """Every validation run's results, one JSON file per chunk and frame."""
        return self.home / "validations"

    @property
    def validation_keep_days(self) -> int:
        """How many days validation results are kept (default 400: a year's and a quarter)."""
        text = self.validation_keep_days_text.strip()
        if not text:
            return VALIDATION_KEEP_DAYS
        if not text.isdigit() or int(text) < 1:
            raise ValueError(
                "COMMUNE_REPORTS_VALIDATION_KEEP_DAYS must be a whole number of days, at least "
                f"1, not {text!r}"
            )
        return int(text)


def load_settings(warehouse_url: str | None = None) -> Settings:
    """Read the environment now (not at import), so tests and tasks can set it first."""
    home = Path(os.environ.get("COMMUNE_REPORTS_HOME", "data")).resolve()
    url = warehouse_url or os.environ.get("COMMUNE_REPORTS_WAREHOUSE_URL", "")
    if not url:
        url = f"sqlite:///{home / 'warehouse.db'}"
    inbox = Path(os.environ.get("COMMUNE_REPORTS_INBOX", home / "inbox")).resolve()
    keep = os.environ.get("COMMUNE_REPORTS_VALIDATION_KEEP_DAYS", "")
    return Settings(home=home, warehouse_url=url, inbox=inbox, validation_keep_days_text=keep)

"""Every example query of the README runs on both engines and finds rows in the sample's
2022-2023, so the analysts' documentation cannot drift from the schema."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sqlalchemy import text

from commune_reports.periods import parse_period_range
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import REPO, SAMPLE_INBOX

sys.path.insert(0, str(REPO / "scripts"))
from bench_queries import readme_queries  # the benchmark reads them the same way


def test_readme_queries(home: Path, warehouse: str) -> None:
    queries = readme_queries(REPO / "README.md")
    assert len(queries) >= 7
    periods = parse_period_range("2022Q1..2023Q4")
    for p in periods:
        shutil.copytree(SAMPLE_INBOX / p.code, home / "inbox" / p.code)
    run_periods(load_settings(), periods)
    with get_engine(warehouse).connect() as conn:
        for label, sql in queries:
            rows = conn.execute(text(sql)).all()
            assert rows, f"no rows: {label}"

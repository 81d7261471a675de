"""Incremental marts on both engines: a run rebuilds only its periods, the years they feed and
the periods whose files changed since (a 2023Q3 form rejected in the 2023Q4 run changes
2023Q3's completeness), and the result is exactly what a full rebuild gives."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy import text

from commune_reports.cli import main
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import MART_TABLES, get_engine, refresh_marts, writing
from tests.conftest import SAMPLE_INBOX

UNIT, METRIC = "30037", "dissemination_sessions"


def _marts(url: str) -> dict[str, set[tuple]]:
    def norm(value: object) -> object:
        return Decimal(str(value)).normalize() if isinstance(value, float | Decimal) else value

    with get_engine(url).connect() as conn:
        return {
            table: {
                tuple(norm(v) for v in row) for row in conn.execute(text(f"SELECT * FROM {table}"))
            }
            for table in MART_TABLES
        }


def _total(url: str, unit: str, period: str) -> Decimal:
    with get_engine(url).connect() as conn:
        value = conn.execute(
            text(
                "SELECT value FROM mart_totals WHERE unit_code = :u AND period_code = :p "
                "AND level = 'all' AND metric_code = :m"
            ),
            {"u": unit, "p": period, "m": METRIC},
        ).scalar_one()
    return Decimal(str(value))


def test_a_run_rebuilds_its_periods_and_what_changed(home: Path, warehouse: str) -> None:
    for quarter in ("2023Q3", "2023Q4"):
        shutil.copytree(SAMPLE_INBOX / quarter, home / "inbox" / quarter)
    run_periods(load_settings(), [Period(2023, 3)])
    run_periods(load_settings(), [Period(2023, 4)])
    before_q3, before_year = _total(warehouse, "872", "2023Q3"), _total(warehouse, "872", "2023")
    # a corrected 2023Q3 form of one commune arrives in the 2023Q4 folder: rejected there
    book = openpyxl.load_workbook(SAMPLE_INBOX / "2023Q3" / f"{UNIT}_2023Q3.xlsx")
    row = next(r for r in book.active.iter_rows() if r[1].value == METRIC)
    row[4].value = int(row[4].value) + 10
    book.save(home / "inbox" / "2023Q4" / f"{UNIT}_2023Q3_sua.xlsx")
    run_periods(load_settings(), [Period(2023, 4)])
    with get_engine(warehouse).connect() as conn:
        rejected = conn.execute(
            text(
                "SELECT rejected_count FROM completeness WHERE unit_code = :u "
                "AND period_code = '2023Q3'"
            ),
            {"u": UNIT},
        ).scalar_one()
    assert rejected == 1  # 2023Q3's completeness was rebuilt by the 2023Q4 run
    assert _total(warehouse, "872", "2023Q3") == before_q3
    # the form sent again through ingest is loaded for its own period and the year it feeds
    book.properties.modified = dt.datetime(2024, 1, 5, 8, 0)  # another file, same figures
    book.save(home / f"{UNIT}_2023Q3_sua.xlsx")
    assert main(["ingest", str(home / f"{UNIT}_2023Q3_sua.xlsx")]) == 0
    assert _total(warehouse, "872", "2023Q3") == before_q3 + 10
    assert _total(warehouse, "872", "2023") == before_year + 10
    assert _total(warehouse, UNIT, "2023Q3") == Decimal(int(row[4].value))
    incremental = _marts(warehouse)
    with writing(get_engine(warehouse)) as conn:
        refresh_marts(conn)  # everything, from the facts
        assert not conn.execute(text("SELECT COUNT(*) FROM mart_dirty")).scalar_one()
    assert _marts(warehouse) == incremental

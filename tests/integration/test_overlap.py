"""Runs that overlap give the warehouse that the same runs give one after another, on SQLite
and PostgreSQL: command-line runs started at once, for the same periods, for overlapping
ranges and for years, each in its own process, as a backfill and the three DAGs overlap."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from commune_reports.periods import parse_period_range
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import dispose_engine
from tests.snapshots import differences, snapshot

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("commune-reports")
# the same three years four times, a range inside them, and years beside the quarters
RUNS = ("2021Q1..2023Q4",) * 4 + ("2021Q3..2022Q2", "2021..2023", "2022")


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """The sample inbox of the periods the runs collect, shared by both homes (read-only)."""
    folder = tmp_path / "inbox"
    wanted = {p.code for r in RUNS for p in parse_period_range(r)}
    for source in (REPO / "include" / "sample_inbox").iterdir():
        if source.name in wanted:
            shutil.copytree(source, folder / source.name)
    # and a file with an unreadable cell and a broken rule, carried from parse to validation:
    # whichever run rejects it, its problems are all kept, once
    bad = write_form("30052", "2022Q3", folder / "2022Q3" / "30052_2022Q3_sai.xlsx")
    book = openpyxl.load_workbook(bad)
    sheet = book["BaoCao"]
    for row in range(7, 16):
        sheet.cell(row, 5).value = 10
    sheet["E8"], sheet["E12"], sheet["E13"] = "hơn 30", 100, 140
    book.save(bad)
    return folder


def _run_at_once(env: dict[str, str]) -> None:
    procs = [
        subprocess.Popen(
            [str(CLI), "run", "--periods", periods],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for periods in RUNS
    ]
    started = time.monotonic()
    errors = [(p.args, p.wait(timeout=600), p.stderr.read()[-3000:]) for p in procs]
    failed = [e for e in errors if e[1] != 0]
    assert not failed, failed
    print(f"{len(RUNS)} overlapping runs in {time.monotonic() - started:.1f} s")


def test_overlapping_runs_equal_serial_runs(
    warehouse: str,
    inbox: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("COMMUNE_REPORTS_INBOX", str(inbox))
    monkeypatch.setenv("COMMUNE_REPORTS_SETTLE_SECONDS", "0")
    env = os.environ.copy()
    _run_at_once(env)
    overlapped = snapshot(warehouse)

    # the same runs, one after another, into a second warehouse and home
    if warehouse.startswith("sqlite"):
        serial_url = f"sqlite:///{tmp_path / 'serial.db'}"
    else:
        serial_url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("COMMUNE_REPORTS_HOME", str(tmp_path / "serial-home"))
    settings = load_settings(serial_url)
    for periods in RUNS:
        run_periods(settings, parse_period_range(periods))
    serial = snapshot(serial_url)
    dispose_engine(serial_url)

    counts = {table: len(rows) for table, rows in serial.items()}
    assert counts["facts"] > 0 and counts["completeness"] > 0 and counts["mart_totals"] > 0
    assert differences(overlapped, serial) == []

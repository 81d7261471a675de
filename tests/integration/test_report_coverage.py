"""A report never prints a partial figure as a whole one: a period with units missing and a
year with quarters or yearly forms not loaded are named before the figures, and each JSON row
says whether it is complete, on both engines."""

from __future__ import annotations

import shutil
from pathlib import Path

from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.report import figure_rows, load_figures, render_text
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX


def test_incomplete_figures_are_marked(home: Path, warehouse: str) -> None:
    inbox = home / "inbox" / "2023Q4"
    inbox.mkdir(parents=True)
    for name in ("30040_2023Q4.xlsx", "872-NV_2023Q4.xlsx"):
        shutil.copy(SAMPLE_INBOX / "2023Q4" / name, inbox / name)
    run_periods(load_settings(), [Period(2023, 4)])
    engine = get_engine(warehouse)

    quarter = render_text(load_figures(engine, "2023Q4"))
    head = quarter.split("1. ")[0]
    assert "2023Q4 (quarterly): 2/19 đơn vị đã báo cáo, số liệu chưa đầy đủ" in head
    assert "2 of 19 units reported, figures incomplete" in head

    year_figures = load_figures(engine, "2023")
    year = render_text(year_figures)
    head = year.split("1. ")[0]
    assert "Năm 2023: số liệu quý mới có Q4, chưa đủ 4 quý" in head
    assert "year 2023: yearly forms not loaded" in head
    row = {
        (r["metric"], r["level"]): r for r in figure_rows(year_figures) if r["period"] == "2023"
    }[("dissemination_sessions", "all")]
    # 2 units of 19 in the one quarter loaded, and one quarter of the four a year needs
    assert (row["units_reporting"], row["units_expected"]) == (2, 19)
    assert (row["reports_received"], row["reports_expected"]) == (2, 19)
    assert (row["periods_included"], row["periods_expected"]) == (1, 4)
    assert row["complete"] is False

    # all 19 units in: the quarter's report carries no caveat
    shutil.copytree(SAMPLE_INBOX / "2023Q4", inbox, dirs_exist_ok=True)
    run_periods(load_settings(), [Period(2023, 4)])
    full = load_figures(engine, "2023Q4")
    assert "Caveat" not in render_text(full)
    assert all(r["complete"] for r in figure_rows(full))
    # ... but its year is still one quarter of four
    assert not any(r["complete"] for r in figure_rows(load_figures(engine, "2023")))

"""Consistency checks, on both engines: the 41% fall of huyện Tháp Mười's commune dossiers
from 2022 (45.998) to 2023 (27.021) is flagged in the warehouse, the report and its JSON; a
correction of 2022 rewrites the 2023 check; a commune far from its siblings is flagged in
the district's report."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.catalog import CATALOG_DIR, load_catalog
from commune_reports.periods import Period
from commune_reports.pipeline import ingest_paths, run_periods
from commune_reports.report import figure_rows, load_figures, render_text
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import ensure_schema, get_engine, writing
from tests.conftest import SAMPLE_INBOX
from tests.golden import ONLINE_FILING

QUARTERS = [Period(y, q) for y in (2022, 2023) for q in range(1, 5)]
SWING = "dossiers_received_swing"


def _checks(url: str, **where: str) -> list:
    sql = "SELECT * FROM figure_checks WHERE " + " AND ".join(f"{k} = :{k}" for k in where)
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), where).all()


def _resend(home: Path, unit: str, period: str, **changes: int) -> None:
    values = dict(sample_values()[(unit, period)]) | changes
    path = write_form(unit, period, home / "fixes" / f"{unit}_{period} sua.xlsx", values)
    assert ingest_paths(load_settings(), [path])[0]["status"] == "accepted"


def test_the_2023_commune_dossiers_swing(home: Path, warehouse: str) -> None:
    for p in QUARTERS:
        shutil.copytree(SAMPLE_INBOX / p.code, home / "inbox" / p.code)
    run_periods(load_settings(), QUARTERS)
    before = ONLINE_FILING[("2022", "commune")][1]
    after = ONLINE_FILING[("2023", "commune")][1]

    (found,) = _checks(
        warehouse, unit_code="872", period_code="2023", level="commune", check_code=SWING
    )
    assert (found.kind, found.severity) == ("swing", "warn")
    assert (Decimal(str(found.value)), Decimal(str(found.reference))) == (after, before)
    assert found.reference_period == "2022"
    assert Decimal(str(found.score)) == Decimal("-41.26")
    # the district's own desk moved by 12%: no check at its level
    assert _checks(warehouse, unit_code="872", period_code="2023", level="district") == []
    # a year is only compared when both are whole: 2022 has no complete 2021 loaded
    assert _checks(warehouse, unit_code="872", period_code="2022", check_code=SWING) == []

    engine = get_engine(warehouse)
    figures = load_figures(engine, "2023", unit="872")
    printed = render_text(figures)
    assert "Kiểm tra số liệu / Checks:" in printed
    assert "2023, cấp xã: tổng số hồ sơ thủ tục hành chính tiếp nhận 27.021 so với 45.998 " in (
        printed
    )
    assert "(−41,26%)" in printed and "(-41.26%)" in printed
    (rate,) = [
        r
        for r in figure_rows(figures)
        if (r["metric"], r["level"], r["period"]) == ("online_filing_rate", "commune", "2023")
    ]
    assert [(c["check"], c["score"]) for c in rate["checks"]] == [(SWING, -41.26)]
    (sessions,) = [
        r
        for r in figure_rows(figures)
        if (r["metric"], r["level"], r["period"]) == ("dissemination_sessions", "all", "2023")
    ]
    assert sessions["checks"] == []

    # 2022 corrected (a commune's Q1 total): the 2023 check now compares with the new 2022
    q1 = sample_values()[("30052", "2022Q1")]
    _resend(
        home, "30052", "2022Q1", dossiers_received_total=int(q1["dossiers_received_total"]) + 500
    )
    (found,) = _checks(
        warehouse, unit_code="872", period_code="2023", level="commune", check_code=SWING
    )
    assert Decimal(str(found.reference)) == before + 500

    # a commune reporting ten times its usual dossiers in 2023Q4: an outlier among 13
    q4 = sample_values()[("30040", "2023Q4")]
    big = int(q4["dossiers_received_total"]) * 10
    _resend(home, "30040", "2023Q4", dossiers_received_total=big)
    (outlier,) = _checks(warehouse, check_code="dossiers_received_outlier", period_code="2023Q4")
    assert (outlier.unit_code, outlier.level, Decimal(str(outlier.value))) == ("30040", "all", big)
    assert Decimal(str(outlier.score)) > Decimal("3.5")
    district = render_text(load_figures(engine, "2023Q4", unit="872"))
    assert "2023Q4, Xã Thạnh Lợi (30040): " in district


def test_rule_edits_rebuild_only_the_findings(
    home: Path, warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New check rules recompute the findings and leave every total as it is; a new
    definition version recomputes nothing; a new unit rebuilds everything."""
    quarters = [Period(2022, 4), Period(2023, 4)]
    for p in quarters:
        shutil.copytree(SAMPLE_INBOX / p.code, home / "inbox" / p.code)
    run_periods(load_settings(), quarters)
    engine = get_engine(warehouse)
    sentinel = (
        "UPDATE mart_totals SET value = -1 WHERE unit_code = '872' AND period_code = '2023Q4' "
        "AND level = 'all' AND metric_code = 'dissemination_sessions'"
    )
    with writing(engine) as conn:
        conn.execute(text(sentinel))  # a mart row no rebuild would leave at -1

    def sentinel_kept() -> bool:
        with engine.connect() as conn:
            return (
                conn.execute(
                    text(
                        "SELECT value FROM mart_totals WHERE unit_code = '872' AND "
                        "period_code = '2023Q4' AND level = 'all' "
                        "AND metric_code = 'dissemination_sessions'"
                    )
                ).scalar_one()
                == -1
            )

    def edited(step: str, name: str, edit: Callable[[str], str]) -> None:
        """A catalog folder of its own for each step (catalogs are read once per folder)."""
        folder = tmp_path / step
        shutil.copytree(Path(os.environ.get("COMMUNE_REPORTS_CATALOG_DIR") or CATALOG_DIR), folder)
        (folder / name).write_text(edit((folder / name).read_text("utf-8")), "utf-8")
        monkeypatch.setenv("COMMUNE_REPORTS_CATALOG_DIR", str(folder))
        ensure_schema(engine)

    assert _checks(warehouse, unit_code="872", period_code="2023Q4", check_code=SWING)
    edited(
        "rules",
        "checks.csv",
        lambda t: t.replace("dossiers_received_total,30,", "dossiers_received_total,50,"),
    )
    assert _checks(warehouse, unit_code="872", period_code="2023Q4", check_code=SWING) == []
    assert sentinel_kept()

    edited("definitions", "definitions.csv", lambda t: t.replace("all channels", "every channel"))
    assert (
        load_catalog()
        .definition("dossiers_received_total", 1)
        .definition_en.endswith("every channel")
    )
    assert sentinel_kept()

    def add_unit(t: str) -> str:
        line = next(r for r in t.splitlines() if r.startswith("30037,"))
        return t + line.replace("30037,", "39999,", 1).replace("Thị trấn Mỹ An", "Xã Thử") + "\n"

    edited("units", "units.csv", add_unit)
    assert not sentinel_kept()

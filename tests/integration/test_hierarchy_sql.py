"""The unit tree and the reform's successor links in the warehouse, on both engines: figures
under a unit by one join on ``unit_tree``, and 2023 by today's communes through
``facts_as_now``, which must equal the sums of each new commune's predecessors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.report import UnitError, figure_rows, load_figures, render_text
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX
from tests.unit.test_hierarchy import NEW_COMMUNES

METRIC = "dissemination_sessions"


def _load_2023q4(home: Path, warehouse: str) -> dict[str, object]:
    """The sample's 2023Q4 through the pipeline; each unit's reported value of METRIC."""
    shutil.copytree(SAMPLE_INBOX / "2023Q4", home / "inbox" / "2023Q4")
    run_periods(load_settings(), [Period(2023, 4)])
    with get_engine(warehouse).connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT unit_code, value FROM facts "
                    "WHERE period_code = '2023Q4' AND metric_code = :m"
                ),
                {"m": METRIC},
            ).all()
        )


def test_figures_by_the_tree_and_as_now(home: Path, warehouse: str) -> None:
    reported = _load_2023q4(home, warehouse)
    with get_engine(warehouse).connect() as conn:
        under_district = conn.execute(
            text(
                "SELECT SUM(f.value) FROM facts AS f "
                "INNER JOIN unit_tree AS t ON f.unit_key = t.unit_key "
                "WHERE t.ancestor_key = '872@1900-01-01' "
                "AND f.period_code = '2023Q4' AND f.metric_code = :m"
            ),
            {"m": METRIC},
        ).scalar()
        marts = {
            (r.unit_code, r.level): r
            for r in conn.execute(
                text(
                    "SELECT unit_code, level, value, units_reporting, units_expected "
                    "FROM mart_totals WHERE period_code = '2023Q4' AND metric_code = :m"
                ),
                {"m": METRIC},
            ).all()
        }
        as_now = dict(
            conn.execute(
                text(
                    "SELECT unit_code, SUM(value) FROM facts_as_now "
                    "WHERE period_code = '2023Q4' AND metric_code = :m GROUP BY unit_code"
                ),
                {"m": METRIC},
            ).all()
        )
        mapped_from = {
            row[0]
            for row in conn.execute(
                text("SELECT DISTINCT reported_unit_code FROM facts_as_now")
            ).all()
        }
    assert len(reported) == 19  # 13 communes and 6 agencies sent the 2023Q4 form
    total = sum(float(v) for v in reported.values())
    communes = sum(float(v) for c, v in reported.items() if not c.startswith("872-"))
    assert float(under_district) == total
    for unit in ("872", "87"):  # the district and its province, each with its own rows
        assert float(marts[unit, "all"].value) == total, unit
        assert float(marts[unit, "commune"].value) == communes, unit
        assert (marts[unit, "all"].units_reporting, marts[unit, "all"].units_expected) == (19, 19)
        assert (
            marts[unit, "commune"].units_reporting,
            marts[unit, "district"].units_reporting,
        ) == (
            13,
            6,
        )
    for code, value in reported.items():  # each unit is the root of its own subtree
        assert float(marts[code, "all"].value) == float(value), code
    assert not {u for u, _ in marts} & set(NEW_COMMUNES) - set(reported)
    assert set(as_now) == set(NEW_COMMUNES)
    for code, old in NEW_COMMUNES.items():
        assert float(as_now[code]) == sum(float(reported[c]) for c in old), code
    # the district's agencies belong to no unit of today: their figures stay as reported
    assert not {c for c in mapped_from if c.startswith("872-")}


def test_report_by_unit_as_reported_and_as_now(home: Path, warehouse: str) -> None:
    """`report --unit` for a commune, the district and the province, and `--as now` for new
    Xã Phương Thịnh and new Đồng Tháp: the same query as the marts, scoped to one unit."""
    reported = _load_2023q4(home, warehouse)
    engine = get_engine(warehouse)
    default = load_figures(engine, "2023Q4")
    assert default.unit is not None and default.unit.code == "872"  # smallest unit above all
    assert "HUYỆN THÁP MƯỜI" in render_text(default)
    province = load_figures(engine, "2023Q4", unit="87")
    assert province.total(METRIC, "all", "2023Q4") == default.total(METRIC, "all", "2023Q4")
    assert "TỈNH ĐỒNG THÁP" in render_text(province)
    commune = load_figures(engine, "2023Q4", unit="30043")
    assert float(commune.total(METRIC, "all", "2023Q4")) == float(reported["30043"])
    assert commune.total(METRIC, "district", "2023Q4") is None
    for code, old in NEW_COMMUNES.items():
        now = load_figures(engine, "2023Q4", unit=code, as_now=True)
        assert float(now.total(METRIC, "all", "2023Q4")) == sum(float(reported[c]) for c in old)
        rows = [r for r in figure_rows(now) if r["metric"] == METRIC and r["level"] == "all"]
        assert rows[0]["unit"] == code and rows[0]["as_now"] is True
        assert rows[0]["units_reporting"] == len(old), code
    whole = load_figures(engine, "2023Q4", unit="82", as_now=True)
    communes = sum(float(v) for c, v in reported.items() if not c.startswith("872-"))
    assert float(whole.total(METRIC, "all", "2023Q4")) == communes
    assert "as today's units" in render_text(whole)
    with pytest.raises(UnitError):
        load_figures(engine, "2023Q4", unit="30082")  # not in this catalog
    with pytest.raises(UnitError):
        load_figures(engine, "2023Q4", unit="872", as_now=True)  # abolished in 2025

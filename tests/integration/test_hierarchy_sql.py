"""The unit tree and the reform's successor links in the warehouse, on both engines: figures
under a unit by one join on ``unit_tree``, and 2023 by today's communes through
``facts_as_now``, which must equal the sums of each new commune's predecessors."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import text

from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX
from tests.unit.test_hierarchy import NEW_COMMUNES

METRIC = "dissemination_sessions"


def test_figures_by_the_tree_and_as_now(home: Path, warehouse: str) -> None:
    shutil.copytree(SAMPLE_INBOX / "2023Q4", home / "inbox" / "2023Q4")
    run_periods(load_settings(), [Period(2023, 4)])
    with get_engine(warehouse).connect() as conn:
        reported = dict(
            conn.execute(
                text(
                    "SELECT unit_code, value FROM facts "
                    "WHERE period_code = '2023Q4' AND metric_code = :m"
                ),
                {"m": METRIC},
            ).all()
        )
        under_district = conn.execute(
            text(
                "SELECT SUM(f.value) FROM facts AS f "
                "INNER JOIN unit_tree AS t ON f.unit_key = t.unit_key "
                "WHERE t.ancestor_key = '872@1900-01-01' "
                "AND f.period_code = '2023Q4' AND f.metric_code = :m"
            ),
            {"m": METRIC},
        ).scalar()
        mart_all = conn.execute(
            text(
                "SELECT value FROM mart_totals WHERE period_code = '2023Q4' "
                "AND level = 'all' AND metric_code = :m"
            ),
            {"m": METRIC},
        ).scalar()
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
    assert float(under_district) == float(mart_all) == sum(float(v) for v in reported.values())
    assert set(as_now) == set(NEW_COMMUNES)
    for code, old in NEW_COMMUNES.items():
        assert float(as_now[code]) == sum(float(reported[c]) for c in old), code
    # the district's agencies belong to no unit of today: their figures stay as reported
    assert not {c for c in mapped_from if c.startswith("872-")}

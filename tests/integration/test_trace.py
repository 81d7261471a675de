"""`trace` and the `figure_lineage` view, on both engines: every cell behind the 2022 district
online-filing rate of huyện Tháp Mười (the seed's "2.384 hồ sơ, đạt 50,43%"), each read back
from the archived file it names; after a correction the figure follows the new file and the
old one is listed as sent but not taken."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy import text

from commune_reports.cli import main
from commune_reports.lineage import trace
from commune_reports.periods import Period
from commune_reports.pipeline import ingest_paths, run_periods
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX
from tests.golden import ONLINE_FILING

QUARTERS = [Period(2022, q) for q in range(1, 5)]
DESK = "872-MC"  # the district's one-stop desk: the only district-level filer of dossiers


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


def _read_back(path: str, sheet: str, cell: str) -> Decimal:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return Decimal(str(book[sheet][cell].value))
    finally:
        book.close()


def test_trace_the_district_online_rate(home: Path, warehouse: str) -> None:
    for p in QUARTERS:
        shutil.copytree(SAMPLE_INBOX / p.code, home / "inbox" / p.code)
    run_periods(load_settings(), QUARTERS)
    engine = get_engine(warehouse)
    online, total, pct = ONLINE_FILING[("2022", "district")]

    t = trace(engine, "872", "2022", "online_filing_rate", "district")
    assert t.agrees and t.coverage is not None and t.coverage.complete
    assert round(t.value, 2) == Decimal(str(pct))
    numerator, denominator = t.parts
    assert (numerator.metric, numerator.figure, numerator.cells_total) == (
        "dossiers_received_online",
        online,
        online,
    )
    assert (denominator.metric, denominator.cells_total) == ("dossiers_received_total", total)
    for part in t.parts:
        assert sorted(c.period for c in part.cells) == [p.code for p in QUARTERS]
        assert {c.unit_code for c in part.cells} == {DESK}
        for c in part.cells:  # each cell is where it says it is, in the file that was kept
            assert _read_back(c.archive_path, c.sheet, c.cell) == c.value
            assert c.original_name == f"{DESK}_{c.period}.xlsx"
    assert t.others == []

    # a correction of Q2: the figure follows it, the first file is listed as not taken
    q2 = next(c for c in numerator.cells if c.period == "2022Q2")
    values = dict(sample_values()[(DESK, "2022Q2")])
    values["dossiers_received_online"] = int(q2.value) + 10
    fixed = write_form(DESK, "2022Q2", home / "fixes" / "872-MC_2022Q2 sua.xlsx", values)
    assert ingest_paths(load_settings(), [fixed])[0]["status"] == "accepted"

    code, out = _cli(
        "trace",
        "--unit",
        "872",
        "--period",
        "2022",
        "--metric",
        "online_filing_rate",
        "--level",
        "district",
        "--format",
        "json",
    )
    assert code == 0
    again = json.loads(out)
    (num, den) = again["parts"]
    assert again["agrees"] and num["figure"] == num["cells_total"] == online + 10
    assert den["figure"] == total
    assert [c["file"] for c in num["cells"] if c["period"] == "2022Q2"] == [fixed.name]
    old = [c for c in again["not_taken"] if c["metric"] == "dossiers_received_online"]
    assert [(c["file"], c["cell"], c["value"], c["status"]) for c in old] == [
        (q2.original_name, q2.cell, int(q2.value), "superseded")
    ]

    # the same figure as analysts read it from the view, and from the marts
    with engine.connect() as conn:
        viewed = conn.execute(
            text(
                "SELECT SUM(figure_value), COUNT(*) FROM figure_lineage "
                "WHERE basis = 'reported' AND figure_unit_code = '872' "
                "AND figure_period_code = '2022' AND level = 'district' "
                "AND metric_code = 'dossiers_received_online'"
            )
        ).one()
        mart = conn.execute(
            text(
                "SELECT numerator FROM mart_rates WHERE unit_code = '872' "
                "AND period_code = '2022' AND level = 'district' "
                "AND rate_code = 'online_filing_rate'"
            )
        ).scalar_one()
    assert Decimal(str(viewed[0])) == Decimal(str(mart)) == online + 10 and viewed[1] == 4

    text_code, printed = _cli(
        "trace", "--unit", "872", "--period", "2022", "--metric", "online_filing_rate"
    )
    assert text_code == 0 and "Đã gửi nhưng không dùng / sent but not taken:" in printed
    assert _cli("trace", "--unit", "872", "--period", "2022", "--metric", "nope")[0] == 2

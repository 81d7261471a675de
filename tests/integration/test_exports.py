"""Exports, on both engines, on the sample's 2023Q4: figures and facts to CSV and XLSX read
back equal to what `report` gives; the facts as DHIS2 dataValueSets JSON and as ADX XML carry
the same values, with valid codes and ADX periods; as today's units, the 6 new communes get
the sums of their predecessors."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
from sqlalchemy import text

from commune_reports.catalog import load_catalog
from commune_reports.cli import main
from commune_reports.exports import (
    ADX_NS,
    FACT_COLUMNS,
    FIGURE_COLUMNS,
    adx_period,
    dhis2_codes,
    export,
    figure_table,
)
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX
from tests.unit.test_hierarchy import NEW_COMMUNES

Q4 = Period(2023, 4)
ADX_PERIOD = re.compile(r"^\d{4}-\d{2}-01/P(3M|1Y)$")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _xlsx(path: Path) -> list[dict[str, object]]:
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["data"].iter_rows(values_only=True))
    book.close()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _num(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def test_exports_round_trip(home: Path, warehouse: str, tmp_path: Path) -> None:
    shutil.copytree(SAMPLE_INBOX / Q4.code, home / "inbox" / Q4.code)
    run_periods(load_settings(), [Q4])
    engine = get_engine(warehouse)

    # figures: CSV and XLSX hold the report's rows
    expected = figure_table(engine, Q4.code, "872", False)
    assert {e[2] for e in expected} >= {"dissemination_sessions", "online_filing_rate"}
    assert export(engine, Q4.code, tmp_path / "f.csv", "csv", unit="872") == len(expected)
    assert export(engine, Q4.code, tmp_path / "f.xlsx", "xlsx", unit="872") == len(expected)
    value = FIGURE_COLUMNS.index("value")
    for read in (_csv(tmp_path / "f.csv"), _xlsx(tmp_path / "f.xlsx")):
        assert list(read[0]) == list(FIGURE_COLUMNS)
        assert [(r["metric"], r["level"], r["period"]) for r in read] == [
            (e[2], e[3], e[4]) for e in expected
        ]
        assert [_num(r["value"]) for r in read] == [_num(e[value]) for e in expected]

    # facts: each unit's own values, summing to the district's totals
    assert export(engine, Q4.code, tmp_path / "facts.xlsx", "xlsx", "facts", "872") > 0
    facts = _xlsx(tmp_path / "facts.xlsx")
    assert list(facts[0]) == list(FACT_COLUMNS)
    with engine.connect() as conn:
        totals = dict(
            conn.execute(
                text(
                    "SELECT metric_code, value FROM mart_totals WHERE unit_code = '872' "
                    "AND period_code = :p AND level = 'all'"
                ),
                {"p": Q4.code},
            ).all()
        )
    sums: Counter[str] = Counter()
    for f in facts:
        sums[f["metric_code"]] += _num(f["value"]) or 0
    assert {m: Decimal(str(v)) for m, v in totals.items() if v is not None} == {
        m: s for m, s in sums.items() if m in totals and totals[m] is not None
    }

    # DHIS2 dataValueSets and ADX: the same values, codes from dhis2.csv
    codes = dhis2_codes()
    n = export(engine, Q4.code, tmp_path / "dvs.json", "dhis2", unit="872")
    values = json.loads((tmp_path / "dvs.json").read_text("utf-8"))["dataValues"]
    assert n == len(values) == sum(1 for f in facts if f["value"] is not None)
    units = {u.code for u in load_catalog().units}
    elements = {c.data_element for c in codes.values()}
    for v in values:
        assert set(v) == {"dataElement", "period", "orgUnit", "value"}
        assert v["dataElement"] in elements and v["orgUnit"] in units and v["period"] == Q4.code
        Decimal(v["value"])  # a number as text, as DHIS2 takes it
    keys = [(v["dataElement"], v["period"], v["orgUnit"]) for v in values]
    assert len(set(keys)) == len(keys)

    assert export(engine, Q4.code, tmp_path / "data.adx.xml", "adx", unit="872") == n
    root = ElementTree.parse(tmp_path / "data.adx.xml").getroot()
    assert root.tag == f"{{{ADX_NS}}}adx" and "exported" in root.attrib
    from_adx = []
    for group in root:
        assert group.tag == f"{{{ADX_NS}}}group"
        assert set(group.attrib) == {"orgUnit", "period", "dataSet"}
        assert ADX_PERIOD.match(group.attrib["period"]) and group.attrib["dataSet"]
        assert group.attrib["period"] == adx_period(Q4.code) == "2023-10-01/P3M"
        for dv in group:
            assert dv.tag == f"{{{ADX_NS}}}dataValue"
            assert set(dv.attrib) == {"dataElement", "value"}
            from_adx.append(
                (dv.attrib["dataElement"], Q4.code, group.attrib["orgUnit"], dv.attrib["value"])
            )
    assert sorted(from_adx) == sorted((*k, v["value"]) for k, v in zip(keys, values, strict=True))

    # as today's units: the new communes of Đồng Tháp (82) with their predecessors' sums
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "export",
                "--period",
                Q4.code,
                "--unit",
                "82",
                "--as",
                "now",
                "--format",
                "dhis2",
                "--out",
                str(tmp_path / "now.json"),
            ]
        )
    now = json.loads((tmp_path / "now.json").read_text("utf-8"))["dataValues"]
    assert code == 0 and out.getvalue().startswith(f"{len(now)} ")
    sessions = {
        v["orgUnit"]: Decimal(v["value"])
        for v in now
        if v["dataElement"] == codes["dissemination_sessions"].data_element
    }
    assert set(sessions) == set(NEW_COMMUNES)
    with engine.connect() as conn:
        as_now = dict(
            conn.execute(
                text(
                    "SELECT unit_code, SUM(value) FROM facts_as_now WHERE period_code = :p "
                    "AND metric_code = 'dissemination_sessions' GROUP BY unit_code"
                ),
                {"p": Q4.code},
            ).all()
        )
    assert sessions == {u: Decimal(str(v)) for u, v in as_now.items()}

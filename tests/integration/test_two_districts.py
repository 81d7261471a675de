"""Two districts of the old Đồng Tháp, from a catalog made by `commune-reports catalog import`
(huyện Tháp Mười 872 with the sample's files, huyện Cao Lãnh 873 with forms written here), on
SQLite and PostgreSQL: each district's totals, the province's, Xã Phương Thịnh as now (Hưng
Thạnh of 872 and Phương Thịnh of 873), and roll-ups that go to each unit's own overseer,
before the reform (the districts) and after it (the new province)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from commune_reports import stages
from commune_reports.alerts import plan
from commune_reports.catalog import load_catalog
from commune_reports.cli import main
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.report import figure_rows, load_figures, publish, render_text
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Q4 = Period(2023, 4)
METRIC = "dissemination_sessions"
SILENT = "30127"  # the one commune of huyện Cao Lãnh that never sends its 2023Q4 form
CAO_LANH = "noivu@caolanh.example.vn"
THAP_MUOI = ["noivu@thapmuoi.example.vn", "vanphong@thapmuoi.example.vn"]
PROVINCE = "sonoivu@dongthap.example.vn"


def _values(seed: int) -> dict[str, int]:
    received = 100 + seed % 37
    resolved = received - 2
    return {
        "dissemination_sessions": 1 + seed % 3,
        "citizen_reception_sessions": 12,
        "dialogue_sessions": 1,
        "complaints_received": 4,
        "complaints_resolved": 3,
        "dossiers_received_total": received,
        "dossiers_received_online": received // 2,
        "dossiers_resolved_total": resolved,
        "dossiers_resolved_on_time": resolved - 1,
    }


@pytest.fixture
def two_districts(home: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    folder = home / "catalog"
    command = ["catalog", "import", "--province", "87", "--district", "872", "--district", "873"]
    assert main([*command, "--out", str(folder)]) == 0
    with (folder / "units.csv").open(encoding="utf-8") as fh:
        codes = [r["code"] for r in csv.DictReader(fh) if r["parent_code"] == "873"]
    with (folder / "recipients.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"873,oversight,{CAO_LANH}\n82,oversight,{PROVINCE}\n")
        for code in codes:
            fh.write(f"{code},unit,ubnd-{code}@caolanh.example.vn\n")
    monkeypatch.setenv("COMMUNE_REPORTS_CATALOG_DIR", str(folder))
    catalog = load_catalog()  # read once recipients.csv is complete: it is cached per folder
    cao_lanh = [u for u in catalog.units if u.parent_code == "873"]
    inbox = home / "inbox" / Q4.code
    shutil.copytree(SAMPLE_INBOX / Q4.code, inbox)
    sent: dict[str, dict[str, int]] = {}
    for u in cao_lanh:
        if u.code != SILENT:
            sent[u.code] = _values(int(u.code))
            write_form(u.code, Q4.code, inbox / f"{u.code}_{Q4.code}.xlsx", sent[u.code])
    moment = dt.datetime(2023, 12, 10, 9, 0, tzinfo=TZ)
    stages.discover(load_settings(), "discovery-20231210", [Q4], now=moment)
    run_periods(load_settings(), [Q4])
    with get_engine(warehouse).connect() as conn:
        facts = dict(
            conn.execute(
                text(
                    "SELECT unit_code, value FROM facts WHERE period_code = :p AND metric_code = :m"
                ),
                {"p": Q4.code, "m": METRIC},
            ).all()
        )
    return {"catalog": catalog, "cao_lanh": cao_lanh, "sent": sent, "facts": facts}


def test_each_district_the_province_and_phuong_thinh_as_now(
    two_districts: dict, warehouse: str
) -> None:
    engine = get_engine(warehouse)
    facts = {k: float(v) for k, v in two_districts["facts"].items()}
    assert len(two_districts["cao_lanh"]) == 18  # the package's 18 communes of huyện Cao Lãnh
    thap_muoi = sum(v for c, v in facts.items() if c.startswith("872-") or c <= "30073")
    cao_lanh = sum(two_districts["sent"][c][METRIC] for c in two_districts["sent"])
    assert thap_muoi + cao_lanh == sum(facts.values())

    by_872 = load_figures(engine, Q4.code, unit="872")
    by_873 = load_figures(engine, Q4.code, unit="873")
    province = load_figures(engine, Q4.code)  # the smallest unit above both: the province
    assert province.unit is not None and province.unit.code == "87"
    assert float(by_872.total(METRIC, "all", Q4.code)) == thap_muoi
    assert float(by_873.total(METRIC, "all", Q4.code)) == cao_lanh
    assert float(province.total(METRIC, "all", Q4.code)) == thap_muoi + cao_lanh
    assert float(province.total(METRIC, "district", Q4.code)) == sum(
        v for c, v in facts.items() if c.startswith("872-")
    )
    # a rate of the province is its summed parts, not the mean of the districts' rates
    parts = [f.rates["online_filing_rate"]["all"][Q4.code] for f in (by_872, by_873)]
    assert province.rates["online_filing_rate"]["all"][Q4.code] == (
        sum(p[0] for p in parts),
        sum(p[1] for p in parts),
    )
    text_ = render_text(province)
    assert "TỈNH ĐỒNG THÁP" in text_
    assert "36/37 đơn vị đã báo cáo" in text_  # 19 of Tháp Mười, 17 of Cao Lãnh's 18
    assert "Caveat" not in render_text(by_872)
    assert "17/18 đơn vị" in render_text(by_873)
    # the province's report also gives each district's own totals, from the same query
    assert [p.unit.code for p in province.parts if p.unit] == ["872", "873"]
    for part, alone in zip(province.parts, (by_872, by_873), strict=True):
        assert part.totals == alone.totals and part.rates == alone.rates
        assert f"{part.unit.name} ({part.unit.code}): " in text_
    assert f"Huyện Cao Lãnh (873): {int(cao_lanh)} cuộc tuyên truyền" in text_
    assert "17/18 đơn vị đã báo cáo" in text_.split("Huyện Cao Lãnh (873): ")[1]
    assert not by_872.parts and not by_873.parts  # a district's communes are not listed
    rows = figure_rows(province)
    mine = {(r["unit"], r["metric"], r["level"]): r for r in rows if r["period"] == Q4.code}
    assert mine[("87", METRIC, "all")]["value"] == thap_muoi + cao_lanh
    assert mine[("872", METRIC, "all")]["complete"] is True
    assert mine[("873", METRIC, "all")]["complete"] is False
    assert mine[("873", METRIC, "all")]["reports_received"] == 17
    assert mine[("873", "online_filing_rate", "all")]["units_expected"] == 18
    assert mine[("87", METRIC, "all")]["units_reporting"] == 36

    # published: the province's report and one of each district for its own officials
    publish(load_settings(), Q4.code)
    reports = load_settings().reports
    assert sorted(p.name for p in reports.glob("*.txt")) == [
        "2023Q4.872.txt",
        "2023Q4.873.txt",
        "2023Q4.txt",
    ]
    assert "— TỈNH ĐỒNG THÁP" in (reports / "2023Q4.txt").read_text("utf-8")
    own = (reports / "2023Q4.873.txt").read_text("utf-8")
    assert "— HUYỆN CAO LÃNH" in own and "17/18 đơn vị" in own
    assert {r["unit"] for r in json.loads((reports / "2023Q4.872.json").read_text())} == {"872"}

    # new Xã Phương Thịnh takes Hưng Thạnh (872) and Phương Thịnh (873) whole
    now = load_figures(engine, Q4.code, unit="30043", as_now=True)
    assert float(now.total(METRIC, "all", Q4.code)) == facts["30043"] + facts["30082"]
    who = now.coverage[(METRIC, "all", Q4.code)]
    assert (who.units_reporting, who.units_expected, who.complete) == (2, 2, True)
    # the new province, as now, has communes and no districts: its report has no "cấp huyện"
    province_now = render_text(load_figures(engine, Q4.code, unit="82", as_now=True))
    assert "cấp xã" in province_now and "cấp huyện" not in province_now
    # Gáo Giồng was divided with no shares: new Xã Phong Mỹ takes only Phong Mỹ
    phong_my = load_figures(engine, Q4.code, unit="30088", as_now=True)
    assert float(phong_my.total(METRIC, "all", Q4.code)) == facts["30088"]


def test_completeness_under_each_district(
    two_districts: dict, warehouse: str, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = {}
    for unit in ("872", "873", "87"):
        args = ["completeness", "--period", Q4.code, "--as-of", "2023-12-24", "--unit", unit]
        assert main([*args, "--format", "json"]) == 0
        (regime,) = json.loads(capsys.readouterr().out)["regimes"]
        missing = [u["code"] for u in regime["units"] if u["status"] == "missing"]
        counts[unit] = (len(regime["units"]), missing)
    assert counts == {"872": (19, []), "873": (18, [SILENT]), "87": (37, [SILENT])}
    assert main(["completeness", "--period", Q4.code, "--unit", "82"]) == 2  # not yet then


def test_roll_ups_go_to_each_units_overseer(two_districts: dict, warehouse: str) -> None:
    engine = get_engine(warehouse)
    catalog = load_catalog()
    alerts = plan(engine, [Q4], dt.date(2023, 12, 24), catalog=catalog)
    rollups = [a for a in alerts if a.stage == "deadline"]
    assert [(a.unit_code, [u["unit_code"] for u in a.units], a.recipients) for a in rollups] == [
        ("*873", [SILENT], [CAO_LANH])
    ]
    (escalation,) = [a for a in alerts if a.stage == "escalation"]
    assert escalation.recipients == [f"ubnd-{SILENT}@caolanh.example.vn", CAO_LANH]

    # after the reform the new communes are expected and the new province follows them up
    after = Period(2025, 3)
    (Path(load_settings().inbox) / after.code).mkdir(parents=True)
    stages.discover(
        load_settings(), "discovery-20251005", [after], now=dt.datetime(2025, 10, 5, tzinfo=TZ)
    )
    alerts = plan(engine, [after], dt.date(2025, 10, 31), catalog=catalog)
    (rollup,) = [a for a in alerts if a.stage == "deadline"]
    new_communes = sorted(
        u.code for u in catalog.units if u.parent_code == "82" and u.valid_from.year == 2025
    )
    assert rollup.unit_code == "*82" and rollup.recipients == [PROVINCE]
    assert sorted(u["unit_code"] for u in rollup.units) == new_communes
    assert {"30043", "30088", "30025"} <= set(new_communes)

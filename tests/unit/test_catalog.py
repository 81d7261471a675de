import datetime as dt
import shutil
from pathlib import Path

import pytest

from commune_reports.catalog import CATALOG_DIR, load_catalog

CATALOG = load_catalog()


def test_units_exist_by_period() -> None:
    before = CATALOG.units_valid_on(dt.date(2023, 12, 31))
    after = CATALOG.units_valid_on(dt.date(2025, 8, 1))
    assert len([u for u in before if u.level == "commune"]) == 13
    assert len([u for u in after if u.level == "commune"]) == 6
    assert {u.code for u in before if u.kind == "agency"} == {
        "872-VP",
        "872-MC",
        "872-NV",
        "872-TP",
        "872-VHTT",
        "872-TTR",
    }
    # code 30037 is reused: the town before the reform, the merged commune after
    assert CATALOG.unit_on("30037", dt.date(2023, 1, 1)).name == "Thị trấn Mỹ An"
    assert CATALOG.unit_on("30037", dt.date(2025, 7, 1)).name == "Xã Tháp Mười"
    assert CATALOG.unit_on("30064", dt.date(2025, 7, 1)) is None


def test_every_requirement_names_real_units() -> None:
    kinds = {u.kind for u in CATALOG.units} | {u.code for u in CATALOG.units}
    for metric in CATALOG.metrics:
        assert metric.required_units, metric.code
        assert set(metric.required_units) <= kinds, metric.code
        assert metric.regime in CATALOG.regimes


def test_rates_use_catalog_metrics() -> None:
    codes = set(CATALOG.metrics_by_code)
    for rate in CATALOG.rates:
        assert rate.numerator in codes
        assert rate.denominator.removeprefix("expected:") in codes


def test_form_of_each_unit() -> None:
    day = dt.date(2023, 12, 31)
    one_stop = CATALOG.unit_on("872-MC", day)
    assert [m.code for m in CATALOG.form_metrics("quarterly", one_stop)] == [
        "dissemination_sessions",
        "citizen_reception_sessions",
        "dossiers_received_total",
        "dossiers_received_online",
        "dossiers_resolved_total",
        "dossiers_resolved_on_time",
    ]
    commune = CATALOG.unit_on("30052", day)
    assert len(CATALOG.form_metrics("quarterly", commune)) == 9
    assert CATALOG.regime_for(commune, "year") == "yearly"
    assert CATALOG.regime_for(CATALOG.unit_on("872", day), "year") == "evaluation"
    assert CATALOG.regime_for(CATALOG.unit_on("872", day), "quarter") is None


def test_definitions_have_versions_that_never_overlap(tmp_path: Path) -> None:
    catalog = load_catalog()
    assert {d.metric_code for d in catalog.definitions} == {m.code for m in catalog.metrics}
    assert catalog.definition("dossiers_received_total", 1).legal_basis.startswith(
        "Nghị định 61/2018"
    )
    folder = tmp_path / "cat"
    shutil.copytree(CATALOG_DIR, folder)
    path = folder / "definitions.csv"
    lines = path.read_text("utf-8").splitlines()
    path.write_text(
        "\n".join([*lines, "dossiers_received_total,2,2023-01-01,,x,y,"]) + "\n", "utf-8"
    )
    with pytest.raises(ValueError, match="versions 1 and 2 of 'dossiers_received_total' overlap"):
        load_catalog(folder)
    path.write_text("\n".join(line for line in lines if "sipas_rank" not in line) + "\n", "utf-8")
    with pytest.raises(ValueError, match="no definition of metric 'sipas_rank'"):
        load_catalog(folder)

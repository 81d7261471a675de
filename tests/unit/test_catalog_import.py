"""The catalog from the pinned national lists (vietnamadminunits): the packaged catalog is
exactly what `catalog import --province 87 --district 872` gives, and the whole country
loads into a valid tree with the reform's successors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from commune_reports.catalog import CATALOG_DIR, load_catalog
from commune_reports.catalog_import import project_rows, unit_rows, units_csv, write_catalog
from commune_reports.hierarchy import current_versions, tree_rows


def test_the_packaged_catalog_is_the_import_of_thap_muoi() -> None:
    rows = unit_rows(["87"], ["872"])
    made = units_csv(rows + project_rows(rows))
    assert made == (CATALOG_DIR / "units.csv").read_text(encoding="utf-8")


def test_cao_lanh_phuong_thinh_and_the_divided_gao_giong() -> None:
    rows = {(r["code"], r["valid_from"]): r for r in unit_rows(["87"], ["873"])}
    communes = [r for r in rows.values() if r["parent_code"] == "873"]
    assert len(communes) == 18
    assert rows["30082", ""]["name"] == "Xã Phương Thịnh"
    assert rows["30082", ""]["successor_code"] == "30043"  # into new Xã Phương Thịnh
    assert rows["30079", ""]["successor_code"] == "30088 30025"  # divided, no shares
    assert rows["82", "2025-07-01"]["name"] == "Tỉnh Đồng Tháp"


def test_the_whole_country(tmp_path: Path) -> None:
    count = write_catalog(tmp_path, ["all"])
    catalog = load_catalog(tmp_path)
    assert count == len(catalog.units)
    levels = Counter((u.kind, u.valid_from.year == 2025) for u in catalog.units)
    assert levels["commune", False] == 10_035 and levels["district", False] == 696
    assert levels["province", False] == 63 and levels["province", True] == 34
    assert levels["commune", True] == 3_321
    tables = tree_rows(catalog)  # every parent and successor resolves
    old = [u for u in catalog.units if u.level == "commune" and u.valid_to.year == 2025]
    unmapped = [u for u in old if not all(m for _, _, m in current_versions(catalog, u))]
    assert len(unmapped) == 471  # the divided communes: kept, not mappable
    assert len(tables["unit_successors"]) > len(old)

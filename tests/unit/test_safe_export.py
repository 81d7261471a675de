"""What the project writes never turns into a formula when opened."""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from commune_reports.catalog import CATALOG_DIR, _load
from commune_reports.safe_export import csv_value, write_csv
from commune_reports.template import write_form

RISKY = ["=1+1", "+33 123", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")', "\tx", "＝1+1"]


@pytest.mark.parametrize("value", RISKY)
def test_csv_text_is_never_a_formula(value: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "out.csv", [[value, 5, -3]], header=["a", "b", "c"])
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][0] == "'" + value
    assert rows[1][1:] == ["5", "-3"]  # numbers stay numbers, negative ones included
    assert csv_value("Xã Mỹ Hòa") == "Xã Mỹ Hòa"


def test_form_text_from_the_catalog_is_stored_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog)
    units = catalog / "units.csv"
    units.write_text(
        units.read_text("utf-8").replace("Xã Mỹ Hòa", '=HYPERLINK("http://evil";"Mỹ Hòa")'),
        "utf-8",
    )
    metrics = catalog / "metrics.csv"
    metrics.write_text(
        metrics.read_text("utf-8").replace(
            "Số hồ sơ tiếp nhận trực tuyến", "=1+1 Số hồ sơ tiếp nhận trực tuyến"
        ),
        "utf-8",
    )
    monkeypatch.setenv("COMMUNE_REPORTS_CATALOG_DIR", str(catalog))
    _load.cache_clear()
    try:
        path = write_form("30052", "2023Q4", tmp_path / "f.xlsx")
    finally:
        _load.cache_clear()
    with zipfile.ZipFile(path) as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    sheet = openpyxl.load_workbook(path)["BaoCao"]
    assert sheet["A1"].data_type == "s" and sheet["A1"].value.startswith("ỦY BAN NHÂN DÂN =")
    assert any(
        sheet.cell(row=r, column=3).value == "=1+1 Số hồ sơ tiếp nhận trực tuyến"
        and sheet.cell(row=r, column=3).data_type == "s"
        for r in range(7, 16)
    )

"""The form the project writes is the form it reads back: stamps, codes, cells and values."""

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from commune_reports.parse import parse_form
from commune_reports.template import TemplateError, write_form


def test_written_form_reads_back(tmp_path: Path) -> None:
    values = {
        "dissemination_sessions": 3,
        "dossiers_received_total": 2384,
        "dossiers_received_online": 1200,
    }
    path = write_form("30052", "2023Q4", tmp_path / "f.xlsx", values)
    form = parse_form(path)
    assert form.problems == []
    assert (form.unit_code, form.period_code, form.regime) == ("30052", "2023Q4", "quarterly")
    assert form.sheet == "BaoCao"
    read = {v.metric_code: v.value for v in form.values}
    assert read["dissemination_sessions"] == 3
    assert read["dossiers_received_total"] == 2384
    assert read["citizen_reception_sessions"] is None  # blank = not reported
    assert len(read) == 9
    cells = {v.metric_code: v.cell for v in form.values}
    assert cells["dissemination_sessions"] == "E7"


def test_form_has_stamps_and_data_validation(tmp_path: Path) -> None:
    path = write_form("872", "2023", tmp_path / "e.xlsx")
    sheet = openpyxl.load_workbook(path)["BaoCao"]
    assert sheet["A1"].value == "ỦY BAN NHÂN DÂN HUYỆN THÁP MƯỜI"
    assert sheet["A3"].value == "Kỳ báo cáo: Năm 2023"
    assert sheet["A4"].value.split() == ["Mã", "đơn", "vị:", "872", "Mã", "kỳ:", "2023"]
    codes = [sheet.cell(row=r, column=2).value for r in range(7, 13)]
    assert codes[0] == "mass_mobilization_score" and len(codes) == 6
    validated = {
        str(rng) for dv in sheet.data_validations.dataValidation for rng in dv.sqref.ranges
    }
    assert {f"E{r}" for r in range(7, 13)} <= validated


def test_form_is_reproducible(tmp_path: Path) -> None:
    a = write_form("30040", "2022Q1", tmp_path / "a.xlsx", {"dialogue_sessions": 1})
    b = write_form("30040", "2022Q1", tmp_path / "b.xlsx", {"dialogue_sessions": 1})
    assert a.read_bytes() == b.read_bytes()


def test_no_form_for_a_unit_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="30064"):
        write_form("30064", "2025Q4", tmp_path / "x.xlsx")  # merged away on 2025-07-01
    with pytest.raises(TemplateError):
        write_form("872", "2023Q4", tmp_path / "x.xlsx")  # the district sends no quarterly form


def test_text_numbers_follow_vietnamese_rules(tmp_path: Path) -> None:
    path = write_form("872-MC", "2022Q4", tmp_path / "t.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["BaoCao"]
    sheet["E9"] = "2.384"  # typed as text: two thousand three hundred eighty-four
    sheet["E10"] = "1,5"  # a decimal where a count is expected: read, the rules reject it
    book.save(path)
    form = parse_form(path)
    read = {v.cell: v.value for v in form.values}
    assert read["E9"] == Decimal(2384)
    assert read["E10"] == Decimal("1.5")


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a spreadsheet")
    form = parse_form(path)
    assert [p.rule for p in form.problems] == ["not_a_spreadsheet"]

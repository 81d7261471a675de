"""Every validation rule on a real batch, on SQLite and PostgreSQL: a failing file is rejected
whole with the rule, sheet and cell; the other files load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from commune_reports.cli import main
from commune_reports.pipeline import ingest_paths
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import get_engine

SAMPLE = sample_values()


def _form(folder: Path, unit: str, period: str, **changes: object) -> Path:
    values = dict(SAMPLE[(unit, period)]) | changes
    return write_form(unit, period, folder / f"{unit}_{period}.xlsx", values)


def _edit(path: Path, **cells: object) -> Path:
    book = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        book["BaoCao"][ref] = value
    book.save(path)
    return path


@pytest.fixture
def batch(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "delivered"
    files = {
        "good": _form(folder, "30052", "2023Q4"),
        "online_gt_total": _form(
            folder, "30055", "2023Q4", dossiers_received_total=400, dossiers_received_online=500
        ),
        "negative": _form(folder, "30058", "2023Q4", dissemination_sessions=-1),
        "blank_required": _form(folder, "30061", "2023Q4", dialogue_sessions=None),
        "fraction": _form(folder, "30064", "2023Q4", dissemination_sessions=1.5),
        "on_time_gt_resolved": _form(
            folder, "30067", "2023Q4", dossiers_resolved_total=10, dossiers_resolved_on_time=11
        ),
        "complaints": _form(
            folder, "30073", "2023Q4", complaints_received=2, complaints_resolved=3
        ),
        "evaluation_pending": _form(folder, "872", "2023"),
        "unknown_unit": _edit(
            _form(folder, "30070", "2023Q4"), A4="Mã đơn vị: 99999      Mã kỳ: 2023Q4"
        ),
        "duplicate_row": _edit(
            _form(folder, "30040", "2023Q4"), B16="dissemination_sessions", E16=4
        ),
        "text_number": _edit(_form(folder, "30043", "2023Q4"), E12="1.234"),
    }
    copy = folder / "copy_of_good.xlsx"
    shutil.copyfile(files["good"], copy)
    files["same_bytes"] = copy
    return files


EXPECTED_ERRORS = {
    "online_gt_total": ("online_le_total", "E13", "dossiers_received_online"),
    "negative": ("non_negative", "E7", "dissemination_sessions"),
    "blank_required": ("required_metric", "E9", "dialogue_sessions"),
    "fraction": ("integer", "E7", "dissemination_sessions"),
    "on_time_gt_resolved": ("on_time_le_resolved", "E15", "dossiers_resolved_on_time"),
    "complaints": ("complaints_resolved_le_received", "E11", "complaints_resolved"),
    "unknown_unit": ("unit_valid_in_period", "A4", None),
    "duplicate_row": ("one_value_per_metric", "E16", "dissemination_sessions"),
}


def test_each_rule_rejects_its_file_and_the_rest_load(
    warehouse: str, batch: dict[str, Path]
) -> None:
    results = ingest_paths(load_settings(), sorted(batch.values()))
    by_file = {Path(r["file"]).name: r for r in results}
    status = {name: by_file[path.name]["status"] for name, path in batch.items()}
    assert status == {
        "good": "accepted",
        "evaluation_pending": "accepted",
        "text_number": "accepted",
        "same_bytes": "duplicate",
        **{name: "rejected" for name in EXPECTED_ERRORS},
    }
    for name, (rule, cell, metric) in EXPECTED_ERRORS.items():
        errors = by_file[batch[name].name]["errors"]
        found = [(e["rule"], e["cell"], e["metric_code"]) for e in errors]
        assert (rule, cell, metric) in found, (name, found)
        assert all(e["sheet"] == "BaoCao" for e in errors)
        assert all(e["message_vi"] and e["message_en"] for e in errors)
    engine = get_engine(warehouse)
    with engine.connect() as conn:
        loaded = (
            conn.execute(text("SELECT DISTINCT unit_code FROM facts ORDER BY unit_code"))
            .scalars()
            .all()
        )
        assert loaded == ["30043", "30052", "872"]  # rejected files loaded nothing
        typed = conn.execute(
            text("SELECT value FROM facts WHERE unit_code = '30043' AND cell = 'E12'")
        ).scalar_one()
        assert float(typed) == 1234  # "1.234" typed as text is 1234, never 1.234
        pending = conn.execute(
            text("SELECT value FROM facts WHERE unit_code = '872' AND metric_code = 'sipas_rank'")
        ).scalar_one()
        assert pending is None  # blank while pending, and still loaded
        assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar_one() == 11
    quarantined = sorted((load_settings().quarantine).rglob("*.xlsx"))
    assert len(quarantined) == len(EXPECTED_ERRORS)
    feedback = next(
        p for p in quarantined if p.name.endswith(batch["online_gt_total"].name)
    ).with_suffix(".xlsx.loi.txt")
    text_ = feedback.read_text("utf-8")
    assert text_.index("BaoCao!E13") < text_.index("was rejected")  # Vietnamese first
    assert "lớn hơn tổng số hồ sơ" in text_ and "exceed all dossiers received" in text_


def test_unreadable_file_is_quarantined(warehouse: str, tmp_path: Path) -> None:
    bad = tmp_path / "30052_2023Q4.xlsx"
    bad.write_bytes(b"PK\x03\x04 truncated")
    result = ingest_paths(load_settings(), [bad])[0]
    assert result["status"] == "rejected"
    assert result["errors"][0]["rule"] == "truncated"
    kept = list(load_settings().quarantine.rglob("*30052_2023Q4.xlsx"))
    assert len(kept) == 1 and kept[0].read_bytes() == bad.read_bytes()


def test_resubmission_replaces_and_failed_one_keeps(warehouse: str, tmp_path: Path) -> None:
    settings = load_settings()
    first = _form(tmp_path / "a", "30052", "2023Q4", dissemination_sessions=2)
    corrected = _form(tmp_path / "b", "30052", "2023Q4", dissemination_sessions=5)
    broken = _form(tmp_path / "c", "30052", "2023Q4", dissemination_sessions=-7)
    assert ingest_paths(settings, [first])[0]["status"] == "accepted"
    assert ingest_paths(settings, [corrected])[0]["status"] == "accepted"
    assert ingest_paths(settings, [broken])[0]["status"] == "rejected"
    engine = get_engine(warehouse)
    with engine.connect() as conn:
        value = conn.execute(
            text(
                "SELECT value FROM facts WHERE unit_code = '30052' "
                "AND metric_code = 'dissemination_sessions'"
            )
        ).scalar_one()
        assert float(value) == 5
        statuses = conn.execute(
            text("SELECT original_name, status FROM submissions ORDER BY registered_at, status")
        ).all()
        assert sorted(s.status for s in statuses) == ["accepted", "rejected", "superseded"]
        facts = conn.execute(text("SELECT COUNT(*) FROM facts")).scalar_one()
        assert facts == 9  # one value per metric, never added twice


def test_cli_ingest_json_and_exit_code(
    warehouse: str, batch: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ingest", "--format", "json", str(batch["good"]), str(batch["negative"])])
    rows = json.loads(capsys.readouterr().out)
    assert code == 3
    assert [r["status"] for r in rows] == ["accepted", "rejected"]
    assert rows[1]["errors"][0]["cell"] == "E7"
    assert main(["ingest", "--format", "json", str(batch["good"])]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "duplicate"


def test_ingest_json_shows_what_was_noted(warehouse: str, tmp_path: Path) -> None:
    path = _form(tmp_path, "30052", "2023Q4")
    book = openpyxl.load_workbook(path)
    book.create_sheet("Nháp").sheet_state = "hidden"
    book.save(path)
    (result,) = ingest_paths(load_settings(), [path])
    assert result["status"] == "accepted"
    assert [w["rule"] for w in result["warnings"]] == ["hidden_sheet_ignored"]
    assert result["warnings"][0]["message_vi"] and result["warnings"][0]["message_en"]

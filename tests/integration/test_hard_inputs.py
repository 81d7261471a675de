"""Values the warehouse cannot hold exactly and ambiguous workbooks are rejected by name, for
their file alone, the same on SQLite and PostgreSQL; exact decimals on both; and the command
line tells people what happened in one line, with an exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from commune_reports.pipeline import ingest_paths
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import get_engine

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("commune-reports")
SAMPLE = sample_values()


def _form(folder: Path, unit: str, period: str = "2023Q4", **changes: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_form(
        unit, period, folder / f"{unit}_{period}.xlsx", SAMPLE[(unit, period)] | changes
    )


def _errors(result: dict) -> list[tuple]:
    return [(e["rule"], e["sheet"], e["cell"], e["found"]) for e in result["errors"]]


def test_impossible_values_are_rejected_beside_a_good_file(warehouse: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    good = _form(folder, "30052")
    huge = _form(folder, "30055", dossiers_received_total=10**20)
    digits = _form(folder, "30058", dossiers_received_total=123456789012345678)
    results = {Path(r["file"]).name: r for r in ingest_paths(load_settings(), [folder])}
    assert results[good.name]["status"] == "accepted"
    # a spreadsheet cell holds a double: 123456789012345678 is read as the double nearest it
    for path, found in ((huge, str(10**20)), (digits, "12345678901234")):
        result = results[path.name]
        assert result["status"] == "rejected"
        ((rule, sheet, cell, value),) = _errors(result)
        assert (rule, sheet, cell) == ("number_out_of_range", "BaoCao", "E12")
        assert value.startswith(found) and len(value) == (21 if path == huge else 18)
        assert "too large" in result["errors"][0]["message_en"]
    with get_engine(warehouse).connect() as conn:
        statuses = dict(conn.execute(text("SELECT unit_code, status FROM submissions")).all())
    assert statuses == {"30052": "accepted", "30055": "rejected", "30058": "rejected"}


def test_exact_decimals_on_both_engines(warehouse: str, tmp_path: Path) -> None:
    """The largest whole number and a score with decimals come back exactly, SQLite included
    (no float rounding); more decimals than the warehouse keeps are rejected."""
    folder = tmp_path / "in"
    big = _form(folder, "30052", dossiers_received_total=99_999_999_999_999,
                dossiers_received_online=99_999_999_999_998)  # fmt: skip
    score = _form(folder, "872", "2023", mass_mobilization_score=Decimal("97.0512"))
    fine = _form(folder, "30055", dialogue_sessions=Decimal("2.00001"))
    results = {Path(r["file"]).name: r for r in ingest_paths(load_settings(), [folder])}
    assert results[big.name]["status"] == "accepted"
    assert results[score.name]["status"] == "accepted"
    assert [e["rule"] for e in results[fine.name]["errors"]] == ["number_out_of_range"]
    with get_engine(warehouse).connect() as conn:
        values = dict(
            conn.execute(
                text(
                    "SELECT metric_code, value FROM facts WHERE metric_code IN "
                    "('dossiers_received_total', 'dossiers_received_online', "
                    "'mass_mobilization_score')"
                )
            ).all()
        )
        total = conn.execute(
            text("SELECT value FROM mart_totals WHERE metric_code = 'dossiers_received_total' "
                 "AND period_code = '2023Q4' AND level = 'commune' "
                 "AND unit_code = '872'")
        ).scalar_one()  # fmt: skip
    assert Decimal(str(values["dossiers_received_total"])) == 99_999_999_999_999
    assert Decimal(str(values["dossiers_received_online"])) == 99_999_999_999_998
    assert Decimal(str(values["mass_mobilization_score"])) == Decimal("97.0512")
    assert Decimal(str(total)) == 99_999_999_999_999


def _rewrite(target: Path, parts: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts:
            out.writestr(name, data)
    return target


def _parts(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as book:
        return [(i.filename, book.read(i)) for i in book.infolist()]


def test_ambiguous_workbooks_are_rejected(warehouse: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    good = _form(folder, "30052")
    parts = _parts(good)
    sheet = next(n for n, _ in parts if n.startswith("xl/worksheets/sheet"))
    other = dict(parts)[sheet].replace(b"<v>12</v>", b"<v>99</v>", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it writes
        doubled = _rewrite(folder / "doubled.xlsx", [*parts, (sheet, other)])
    workbook = dict(parts)["xl/workbook.xml"]
    two_sheets = workbook.replace(
        b"</sheets>", b'<sheet name="BanSao" sheetId="9" r:id="rId1"/></sheets>'
    )
    shared = _rewrite(
        folder / "shared.xlsx",
        [(n, two_sheets if n == "xl/workbook.xml" else d) for n, d in parts],
    )
    missing = _rewrite(
        folder / "missing.xlsx", [(n, d) for n, d in parts if n != "[Content_Types].xml"]
    )
    results = {Path(r["file"]).name: r for r in ingest_paths(load_settings(), [folder])}
    assert results[good.name]["status"] == "accepted"
    assert [e["rule"] for e in results[doubled.name]["errors"]] == ["ambiguous_workbook"]
    assert results[doubled.name]["errors"][0]["found"] == sheet
    assert [e["rule"] for e in results[shared.name]["errors"]] == ["ambiguous_workbook"]
    assert [e["rule"] for e in results[missing.name]["errors"]] == ["corrupt_workbook"]


def _cli(
    *args: str, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        env=os.environ | {"COMMUNE_REPORTS_SETTLE_SECONDS": "60"} | (env or {}),
        timeout=300,
        **kwargs,
    )


def test_what_people_are_told(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    told = _cli("ingest", str(empty))
    assert told.returncode == 4 and "no files to ingest" in told.stderr

    # a file still being copied (a zip whose end has not arrived) and a note beside a form
    folder = tmp_path / "in"
    form = _form(folder, "30052")
    arriving = folder / "30055_2023Q4.xlsx"
    arriving.write_bytes(form.read_bytes()[:2000])
    (folder / "ghi chu.txt").write_text("xin gửi báo cáo", "utf-8")
    told = _cli("ingest", str(folder), "--format", "json")
    assert told.returncode == 4
    verdicts = {Path(r["file"]).name: (r["status"], r["reason"]) for r in json.loads(told.stdout)}
    assert verdicts == {
        "30052_2023Q4.xlsx": ("accepted", None),
        "30055_2023Q4.xlsx": ("left_for_later", "still_arriving"),
        "ghi chu.txt": ("skipped", "not_a_form_file"),
    }
    assert "Created temporary directory" not in told.stderr  # no library chatter
    assert "INFO" not in told.stderr

    # the reader of the output goes away: no BrokenPipeError
    head = subprocess.run(
        f"{CLI} ingest {folder} | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        env=os.environ | {"COMMUNE_REPORTS_SETTLE_SECONDS": "60"},
    )
    assert "BrokenPipe" not in head.stderr and "Traceback" not in head.stderr

    # a warehouse that cannot be reached: one line, its password masked, exit 5
    dead = "postgresql+psycopg://analyst:s3cr3t@127.0.0.1:9/warehouse"
    told = _cli("report", "--period", "2023Q4", env={"COMMUNE_REPORTS_WAREHOUSE_URL": dead})
    assert told.returncode == 5
    lines = told.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("(traceback: ")
    assert "analyst:***@127.0.0.1:9" in lines[0] and "s3cr3t" not in told.stderr
    log = Path(lines[1][len("(traceback: ") : -1])
    assert "Traceback" in log.read_text("utf-8") and "s3cr3t" not in log.read_text("utf-8")
    debug = _cli(
        "--debug", "report", "--period", "2023Q4", env={"COMMUNE_REPORTS_WAREHOUSE_URL": dead}
    )
    assert debug.returncode == 5 and "Traceback" in debug.stderr


@pytest.fixture(autouse=True)
def _no_sample_inbox(home: Path) -> None:
    shutil.rmtree(home / "inbox", ignore_errors=True)

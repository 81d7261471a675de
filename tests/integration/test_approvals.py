"""Approved periods are locked, on SQLite and PostgreSQL, through the command line: after the
district approves 2022, a changed 872-MC file for 2022Q4 changes no fact, mart or report
figure; it is listed with what it would change and announced to the district; the next
approval applies exactly that unit's change; a declined correction never changes anything."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from commune_reports.channels import SmtpChannel, WebhookChannel
from commune_reports.cli import main
from commune_reports.notices import send_file_notices
from commune_reports.periods import parse_period_range
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.conftest import SAMPLE_INBOX
from tests.servers import SmtpServer

APPROVER = "Trưởng phòng Nội vụ"
UNIT, QUARTER, METRIC = "872-MC", "2022Q4", "dossiers_received_online"
DISTRICT = ["noivu@thapmuoi.example.vn", "vanphong@thapmuoi.example.vn"]


@pytest.fixture
def approved(home: Path, warehouse: str, capsys: pytest.CaptureFixture[str]) -> str:
    """2022 and its quarters collected, then approved by the district."""
    for code in ("2022", "2022Q1", "2022Q2", "2022Q3", "2022Q4"):
        shutil.copytree(SAMPLE_INBOX / code, home / "inbox" / code)
    run_periods(load_settings(), parse_period_range("2022Q1..2022Q4") + parse_period_range("2022"))
    assert main(["approve", "--period", "2022", "--by", APPROVER, "--note", "đã rà soát"]) == 0
    out = capsys.readouterr().out
    assert f"approved by {APPROVER}" in out
    return warehouse


def _changed_form(home: Path, name: str, delta: int) -> tuple[Path, Decimal]:
    """872-MC's 2022Q4 form with ``delta`` added to its online dossiers; the new value."""
    book = openpyxl.load_workbook(SAMPLE_INBOX / QUARTER / f"{UNIT}_{QUARTER}.xlsx")
    sheet = book.active
    row = next(r for r in sheet.iter_rows() if r[1].value == METRIC)
    row[4].value = int(row[4].value) + delta
    target = home / "deliveries" / name
    target.parent.mkdir(exist_ok=True)
    book.save(target)
    return target, Decimal(row[4].value)


def _facts(url: str) -> dict[tuple, Decimal | None]:
    with get_engine(url).connect() as conn:
        return {
            (r.unit_code, r.regime, r.period_code, r.metric_code): (
                None if r.value is None else Decimal(str(r.value))
            )
            for r in conn.execute(
                text("SELECT unit_code, regime, period_code, metric_code, value FROM facts")
            )
        }


def _marts(url: str) -> dict[tuple, Decimal | None]:
    with get_engine(url).connect() as conn:
        return {
            (r.unit_code, r.period_code, r.level, r.metric_code): (
                None if r.value is None else Decimal(str(r.value))
            )
            for r in conn.execute(
                text("SELECT unit_code, period_code, level, metric_code, value FROM mart_totals")
            )
        }


def _report(capsys: pytest.CaptureFixture[str], period: str) -> str:
    assert main(["report", "--period", period]) == 0
    return capsys.readouterr().out


def test_a_correction_waits_for_approval_then_changes_only_its_unit(
    approved: str,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    smtp: SmtpServer,
    webhook: tuple[str, list[dict]],
) -> None:
    url = approved
    facts, marts, report = _facts(url), _marts(url), _report(capsys, "2022")
    (approval,) = [line for line in report.splitlines() if line.startswith("Phê duyệt")]
    assert approval.startswith(f"Phê duyệt / Approval: đã duyệt bởi {APPROVER} lúc ")
    assert approval.endswith("(Asia/Ho_Chi_Minh, cli): 2022, 2022Q1, 2022Q2, 2022Q3, 2022Q4")
    assert "Ghi chú / note: đã rà soát" in report
    key = (UNIT, "quarterly", QUARTER, METRIC)
    path, new_value = _changed_form(home, f"{UNIT}_{QUARTER}_sua.xlsx", -100)

    assert main(["ingest", str(path), "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["status"] == "pending_correction"
    # nothing changed: facts, marts and the report's figures
    assert _facts(url) == facts and _marts(url) == marts
    held = _report(capsys, "2022")
    assert held.split("\nPhê duyệt")[0] == report.split("\nPhê duyệt")[0]
    before = f"{facts[key]:,.0f}".replace(",", ".")
    after = f"{new_value:,.0f}".replace(",", ".")
    assert "1 pending correction, not in the figures above" in held
    assert f"{METRIC} [" in held and f"{before} → {after}" in held

    assert main(["corrections", "--period", "2022", "--format", "json"]) == 0
    listed = [c for st in json.loads(capsys.readouterr().out) for c in st["pending_corrections"]]
    assert [(c["unit"], c["submission_id"]) for c in listed] == [(UNIT, result["submission_id"])]
    assert [(ch["metric"], ch["after"]) for ch in listed[0]["changes"]] == [
        (METRIC, str(new_value))
    ]

    # the district hears of it at once, on every channel
    hook, posts = webhook
    channels = [SmtpChannel(host="127.0.0.1", port=smtp.port, timeout=5), WebhookChannel(hook)]
    engine = get_engine(url)
    import datetime as dt

    send_file_notices(engine, channels, dt.datetime.now(dt.UTC))
    mails = [(to, m["Subject"]) for to, m in smtp.inbox.messages]
    subject = f"[Bản sửa chờ duyệt / Correction to approve] {UNIT} {QUARTER}: {path.name}"
    assert sorted(mails) == sorted(([to], subject) for to in DISTRICT)
    assert [p["stage"] for p in posts] == ["pending_correction"]
    send_file_notices(engine, channels, dt.datetime.now(dt.UTC))  # once only
    assert len(smtp.inbox.messages) == 2 and len(posts) == 1

    assert main(["approve", "--period", "2022", "--by", APPROVER]) == 0
    capsys.readouterr()
    changed = _facts(url)
    assert {k for k in changed if changed[k] != facts.get(k)} == {key}
    assert changed[key] == new_value
    moved = _marts(url)
    diffs = {k: (marts[k], moved[k]) for k in moved if moved[k] != marts.get(k)}
    assert diffs == {  # the unit itself, its district and its province; nothing else
        (u, p, level, METRIC): (marts[u, p, level, METRIC], marts[u, p, level, METRIC] - 100)
        for u in (UNIT, "872", "87")
        for p in (QUARTER, "2022")
        for level in ("district", "all")
    }, diffs
    final = _report(capsys, "2022")
    assert "pending correction" not in final
    with engine.connect() as conn:
        events = conn.execute(
            text(
                "SELECT to_status, actor FROM submission_events WHERE submission_id = :s "
                "ORDER BY seq"
            ),
            {"s": result["submission_id"]},
        ).all()
        decisions = conn.execute(
            text(
                "SELECT seq, decision, decided_by, via, corrections_applied FROM "
                "period_approvals WHERE regime = 'quarterly' AND period_code = :p ORDER BY seq"
            ),
            {"p": QUARTER},
        ).all()
        replaced = conn.execute(
            text(
                "SELECT status, superseded_by FROM submissions WHERE unit_code = :u AND "
                "period_code = :p AND submission_id <> :s"
            ),
            {"u": UNIT, "p": QUARTER, "s": result["submission_id"]},
        ).one()
    assert [e.to_status for e in events] == [
        "received",
        "parsed",
        "validated",
        "pending_correction",
        "validated",
        "accepted",
    ]
    assert events[-1].actor == f"approval:{APPROVER}"
    assert [tuple(d) for d in decisions] == [
        (1, "approved", APPROVER, "cli", 0),
        (2, "approved", APPROVER, "cli", 1),
    ]
    assert tuple(replaced) == ("superseded", result["submission_id"])


def test_a_declined_correction_changes_nothing(
    approved: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = approved
    facts, marts = _facts(url), _marts(url)
    path, _ = _changed_form(home, f"{UNIT}_{QUARTER}_nham.xlsx", -50)
    assert main(["ingest", str(path), "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["status"] == "pending_correction"
    sid = result["submission_id"]
    assert main(["corrections", "--period", QUARTER, "--decline", sid[:12], "--by", APPROVER]) == 0
    assert "pending correction" not in capsys.readouterr().out
    assert main(["approve", "--period", "2022", "--by", APPROVER, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["corrections_applied"] == []
    assert _facts(url) == facts and _marts(url) == marts
    # sending the same bytes again is a duplicate of a decided delivery, not a new correction
    assert main(["ingest", str(path), "--format", "json"]) == 0
    (again,) = json.loads(capsys.readouterr().out)
    assert (again["status"], again["earlier_status"]) == ("duplicate", "declined")
    # a wrong id is refused in one line
    assert main(["corrections", "--period", QUARTER, "--decline", "ffff", "--by", APPROVER]) == 2
    assert "no single pending correction" in capsys.readouterr().err


def test_approval_needs_figures(home: Path, warehouse: str, capsys) -> None:
    assert main(["approve", "--period", "2019Q1", "--by", APPROVER]) == 2
    assert "has no figures to approve" in capsys.readouterr().err


def test_period_codes_in_any_case_give_the_same_report(
    approved: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _report(capsys, "2022q4") == _report(capsys, "2022Q4")
    assert "Kỳ báo cáo: 2022Q4" in _report(capsys, " 2022q4 ")

"""All of a file's problems in one round, sent at once: a form with an unreadable cell ("hơn
30" in E8) and a broken rule (more online dossiers in E13 than received in E12) is rejected
with both, the quarantine note says both, and the unit's contact receives both in one message
on a real SMTP server and a webhook, once; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from commune_reports.channels import SmtpChannel, WebhookChannel
from commune_reports.cli import main
from commune_reports.notices import send_file_notices
from commune_reports.template import write_form
from commune_reports.warehouse import get_engine
from tests.servers import SmtpServer

UNIT, PERIOD = "30052", "2023Q4"
CONTACT = "ubnd@myhoa.thapmuoi.example.vn"


def _form(home: Path) -> Path:
    path = write_form(UNIT, PERIOD, home / "deliveries" / f"{UNIT}_{PERIOD}.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["BaoCao"]
    for row in range(7, 16):
        sheet.cell(row, 5).value = 10
    sheet["E8"] = "hơn 30"  # citizen reception sessions: not a number
    sheet["E12"] = 100  # dossiers received
    sheet["E13"] = 140  # of which online: more than received
    book.save(path)
    return path


def test_a_file_gets_every_problem_at_once(
    home: Path,
    warehouse: str,
    smtp: SmtpServer,
    webhook: tuple[str, list[dict]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _form(home)
    assert main(["ingest", str(path), "--format", "json"]) == 3
    (result,) = json.loads(capsys.readouterr().out)
    assert result["status"] == "rejected"
    found = [(e["stage"], e["cell"], e["rule"]) for e in result["errors"]]
    assert found == [("parse", "E8", "qualified_number"), ("validate", "E13", "online_le_total")]
    # E8's "missing value" is a consequence of the reading problem, not told twice
    assert all(e["rule"] != "required_metric" for e in result["errors"])

    note = next((home / "quarantine" / PERIOD).glob("*.loi.txt")).read_text("utf-8")
    assert "[BaoCao!E8]" in note and "[BaoCao!E13]" in note and "(giá trị: hơn 30)" in note

    hook, posts = webhook
    channels = [SmtpChannel(host="127.0.0.1", port=smtp.port, timeout=5), WebhookChannel(hook)]
    engine = get_engine(warehouse)
    send_file_notices(engine, channels, dt.datetime.now(dt.UTC))
    ((to, mail),) = smtp.inbox.messages
    assert to == [CONTACT]
    assert mail["Subject"] == f"[Tệp bị từ chối / File rejected] {UNIT} {PERIOD}: {path.name}"
    body = mail.get_body(("plain",)).get_content()
    vi, en = body.split(f"File {path.name} was rejected")
    for part in (vi, en):
        assert "BaoCao!E8" in part and "BaoCao!E13" in part
    assert "hơn 30" in vi and "140" in vi and "(found: hơn 30)" in en
    assert "online dossiers (140) exceed all dossiers received (100)" in en
    (post,) = posts
    assert post["stage"] == "rejected" and post["unit"] == UNIT
    assert [(p["cell"], p["rule"]) for p in post["problems"]] == [
        ("E8", "qualified_number"),
        ("E13", "online_le_total"),
    ]
    # once per submission, whatever reruns
    send_file_notices(engine, channels, dt.datetime.now(dt.UTC))
    assert len(smtp.inbox.messages) == 1 and len(posts) == 1

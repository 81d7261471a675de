"""Completeness and alerts against real servers: an SMTP server (aiosmtpd) and an HTTP server
started here receive the messages; the sample inbox with units removed, one rejected and one
late, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from email.message import Message as MailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import text

from commune_reports import stages
from commune_reports.alerts import send_due
from commune_reports.channels import DeliveryError, SmtpChannel, WebhookChannel
from commune_reports.cli import main
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.warehouse import get_engine
from tests.servers import SmtpServer

REPO = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Q4 = Period(2023, 4)
REMOVED = {"30055", "872-TP"}  # never sent
REJECTED = "30052"  # sent a form with more online dossiers than received
LATE = "30061"  # sent on 19 December, the day after the deadline
DISTRICT = ["noivu@thapmuoi.example.vn", "vanphong@thapmuoi.example.vn"]
# the contacts of the four units without a valid report three days before the deadline
REMINDED = sorted(
    [
        "ubnd@myquy.thapmuoi.example.vn",
        "tuphap@thapmuoi.example.vn",
        "ubnd@myhoa.thapmuoi.example.vn",
        "ubnd@docbinhkieu.thapmuoi.example.vn",
    ]
)


def _discovered(periods: list[Period], local: dt.datetime) -> None:
    """What the inbox holds is first seen by a discovery at ``local`` (Asia/Ho_Chi_Minh)."""
    moment = local.replace(tzinfo=TZ)
    stages.discover(load_settings(), f"discovery-{moment:%Y%m%d%H%M}", periods, now=moment)


@pytest.fixture
def delivered(home: Path, warehouse: str) -> str:
    """2023Q4 and 2023 as the units sent them: two missing, one rejected, one late (first
    seen by the discovery of 19 December, the day after the deadline)."""
    for period in ("2023Q4", "2023"):
        shutil.copytree(REPO / "include" / "sample_inbox" / period, home / "inbox" / period)
    q4 = home / "inbox" / "2023Q4"
    for code in REMOVED:
        (q4 / f"{code}_2023Q4.xlsx").unlink()
    book = openpyxl.load_workbook(q4 / f"{REJECTED}_2023Q4.xlsx")
    book["BaoCao"]["E13"] = 99_999
    book.save(q4 / f"{REJECTED}_2023Q4.xlsx")
    late = q4 / f"{LATE}_2023Q4.xlsx"
    held = late.rename(home / late.name)
    _discovered([Q4, Period(2023, 0)], dt.datetime(2023, 12, 10, 9, 0))
    held.rename(late)
    _discovered([Q4], dt.datetime(2023, 12, 19, 10, 0))
    return warehouse


def _load(periods: list[Period]) -> None:
    run_periods(load_settings(), periods)


def test_completeness_names_the_removed_units(
    delivered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _load([Q4])
    assert (
        main(["completeness", "--period", "2023Q4", "--as-of", "2023-12-25", "--format", "json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    (quarterly,) = report["regimes"]
    status = {u["code"]: u["status"] for u in quarterly["units"]}
    assert len(status) == 19
    assert {c for c, s in status.items() if s == "missing"} == REMOVED
    assert {c for c, s in status.items() if s == "rejected"} == {REJECTED}
    assert {c for c, s in status.items() if s == "late"} == {LATE}
    rejected = next(u for u in quarterly["units"] if u["code"] == REJECTED)
    assert rejected["problems"][0]["cell"] == "E13"
    rates = quarterly["rates"]
    assert rates["commune"] | {} == {
        "expected": 13,
        "on_time": 10,
        "late": 1,
        "missing": 1,
        "rejected": 1,
        "reporting_rate": 84.62,
        "on_time_rate": 76.92,
    }
    assert rates["district"]["reporting_rate"] == 83.33
    assert rates["all"]["reporting_rate"] == 84.21
    assert rates["all"]["on_time_rate"] == 78.95
    assert all(r["reporting_rate"] <= 100 for r in rates.values())
    # before the late file arrived, the late unit was simply missing
    assert (
        main(["completeness", "--period", "2023Q4", "--as-of", "2023-12-18", "--format", "json"])
        == 0
    )
    earlier = json.loads(capsys.readouterr().out)["regimes"][0]
    assert {u["code"] for u in earlier["units"] if u["status"] == "missing"} == REMOVED | {LATE}
    # the mart for analysts agrees, as of the latest data
    with get_engine(delivered).connect() as conn:
        mart = conn.execute(
            text(
                "SELECT units_expected, units_reported, units_on_time, reporting_rate_pct "
                "FROM mart_completeness_rates WHERE regime = 'quarterly' "
                "AND period_code = '2023Q4' AND level = 'commune' AND unit_code = '872'"
            )
        ).one()
    assert (mart[0], mart[1], mart[2], round(float(mart[3]), 2)) == (13, 11, 10, 84.62)


def _mails(server: SmtpServer) -> list[tuple[list[str], MailMessage]]:
    out, server.inbox.messages[:] = list(server.inbox.messages), []
    return out


def _recipients(server: SmtpServer) -> list[str]:
    """Everyone mailed since the last look, one entry per delivered message and recipient."""
    return sorted(r for rcpts, _ in _mails(server) for r in rcpts)


def _body(message: MailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",)) if hasattr(message, "get_body") else None
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }
    del plain
    return parts["text/plain"], parts["text/html"]


def test_stages_once_each_to_the_right_people(
    delivered: str, smtp: SmtpServer, webhook: tuple[str, list[dict]]
) -> None:
    _load([Q4])
    engine = get_engine(delivered)
    url, posts = webhook
    channels = [SmtpChannel(host="127.0.0.1", port=smtp.port), WebhookChannel(url=url)]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    # reminder, three days before the deadline of 18 December
    send_due(engine, [Q4], dt.date(2023, 12, 16), channels, now)
    assert _recipients(smtp) == REMINDED
    assert sorted(p["units"][0]["code"] for p in posts) == sorted(REMOVED | {REJECTED, LATE})
    assert all(p["stage"] == "reminder" for p in posts)
    posts.clear()
    # the same day again: nothing new
    assert send_due(engine, [Q4], dt.date(2023, 12, 16), channels, now) == []
    assert _mails(smtp) == [] and posts == []

    # the day after the deadline: one roll-up to the district; the late unit has now reported
    send_due(engine, [Q4], dt.date(2023, 12, 19), channels, now)
    mails = _mails(smtp)
    assert sorted(r for rcpts, _ in mails for r in rcpts) == DISTRICT
    plain, html_part = _body(mails[0][1])
    named = {code for code in ("30055", "872-TP", REJECTED, LATE) if code in plain}
    assert named == REMOVED | {REJECTED}
    assert plain.index("Đã hết hạn") < plain.index("was due")  # Vietnamese first
    assert "E13" in plain and "<li>" in html_part
    assert [p["stage"] for p in posts] == ["deadline"]
    assert {u["code"] for u in posts[0]["units"]} == REMOVED | {REJECTED}
    posts.clear()

    # five days after the deadline: escalations to each unit still missing, copied to the district
    send_due(engine, [Q4], dt.date(2023, 12, 23), channels, now)
    assert _recipients(smtp) == sorted(  # one mail per recipient
        [
            "ubnd@myquy.thapmuoi.example.vn",
            "tuphap@thapmuoi.example.vn",
            "ubnd@myhoa.thapmuoi.example.vn",
            *DISTRICT * 3,
        ]
    )
    assert sorted(p["units"][0]["code"] for p in posts) == sorted(REMOVED | {REJECTED})
    with engine.connect() as conn:
        ledger = conn.execute(
            text("SELECT stage, COUNT(*) FROM alerts_sent GROUP BY stage ORDER BY stage")
        ).all()
    assert [tuple(r) for r in ledger] == [("deadline", 3), ("escalation", 12), ("reminder", 8)]


def test_smtp_down_fails_loudly_and_next_run_delivers(
    delivered: str, smtp: SmtpServer, webhook: tuple[str, list[dict]]
) -> None:
    _load([Q4])
    engine = get_engine(delivered)
    url, posts = webhook
    channels = [SmtpChannel(host="127.0.0.1", port=smtp.port, timeout=5), WebhookChannel(url)]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    smtp.stop()
    with pytest.raises(DeliveryError, match="not recorded"):
        send_due(engine, [Q4], dt.date(2023, 12, 16), channels, now)
    with engine.connect() as conn:
        by_channel = dict(
            conn.execute(text("SELECT channel, COUNT(*) FROM alerts_sent GROUP BY channel")).all()
        )
    assert by_channel == {"webhook": 4}  # the webhook got through; no e-mail marked sent
    smtp.start()
    send_due(engine, [Q4], dt.date(2023, 12, 16), channels, now)
    assert len(_mails(smtp)) == 4
    assert len(posts) == 4  # the webhook is not sent twice


def test_daily_dag_reminds_and_fails_when_smtp_is_down(
    delivered: str,
    smtp: SmtpServer,
    airflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("COMMUNE_REPORTS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMMUNE_REPORTS_SMTP_PORT", str(smtp.port))
    dag = DagBag(dag_folder=str(REPO / "dags")).dags["commune_reports_alerts_daily"]
    for task in dag.tasks:
        task.retries = 0
    # a run for 16 December 2023 made today: the alerts of 2023Q4 stopped long ago (45 days
    # after the deadline), so nobody is reminded now of a report due years back
    stale = dag.test(logical_date=dt.datetime(2023, 12, 16, 6, 0, tzinfo=TZ))
    assert "success" in str(stale.state).lower()
    # only the notice of the file rejected today, to its unit, at once; no alert of 2023Q4
    sent = [(rcpts, m["Subject"]) for rcpts, m in _mails(smtp)]
    assert sent == [
        (
            ["ubnd@myhoa.thapmuoi.example.vn"],
            f"[Tệp bị từ chối / File rejected] {REJECTED} 2023Q4: {REJECTED}_2023Q4.xlsx",
        )
    ], sent
    smtp.inbox.messages.clear()
    # with a stop horizon that reaches today, the same day's reminders are due and sent (and
    # with it, escalations of the earlier quarters, for which nothing was delivered at all)
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "include" / "commune_reports" / "catalog", catalog)
    regimes = catalog / "regimes.csv"
    regimes.write_text(
        regimes.read_text("utf-8").replace("working,3,5,45", "working,3,5,100000"), "utf-8"
    )
    monkeypatch.setenv("COMMUNE_REPORTS_CATALOG_DIR", str(catalog))
    smtp.stop()
    failed = dag.test(logical_date=dt.datetime(2023, 12, 16, 7, 0, tzinfo=TZ))
    assert "fail" in str(failed.state).lower()
    with get_engine(delivered).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alerts_sent")).scalar_one() == 0
    smtp.start()
    run = dag.test(logical_date=dt.datetime(2023, 12, 16, 8, 0, tzinfo=TZ))
    assert "success" in str(run.state).lower()
    reminders = [
        r
        for rcpts, m in _mails(smtp)
        if m["Subject"].startswith("[Nhắc hạn / Reminder] Báo cáo quý 2023Q4")
        for r in rcpts
    ]
    assert sorted(reminders) == REMINDED


def test_only_units_existing_in_the_period_are_expected(warehouse: str) -> None:
    """After the 1 July 2025 reform the 13 old units and the district agencies are not
    expected for 2025Q3; the 6 new communes are (code 30037 now means Xã Tháp Mười)."""
    from commune_reports.completeness import completeness_report, end_of_day

    engine = get_engine(warehouse)
    q3 = completeness_report(engine, Period(2025, 3), end_of_day(dt.date(2025, 10, 1)))
    units = {u["code"]: u["name"] for u in q3["regimes"][0]["units"]}
    assert units == {
        "30037": "Xã Tháp Mười",
        "30043": "Xã Phương Thịnh",
        "30046": "Xã Trường Xuân",
        "30055": "Xã Mỹ Quí",
        "30061": "Xã Đốc Binh Kiều",
        "30073": "Xã Thanh Mỹ",
    }
    q2 = completeness_report(engine, Period(2025, 2), end_of_day(dt.date(2025, 7, 1)))
    assert len(q2["regimes"][0]["units"]) == 19  # 13 communes and 6 agencies, all missing
    assert q2["regimes"][0]["rates"]["all"]["reporting_rate"] == 0.0

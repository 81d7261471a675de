"""The mailbox source on a real Dovecot server, on SQLite and PostgreSQL: forms e-mailed to the
district's mailbox are loaded with the mail server's receipt time, each sender gets the verdict
as a reply to their message on a real SMTP server (and the unit's contact when the sender is
not one), what is not a form is answered, an auto-reply is not, handled messages move to a
folder, a rerun takes nothing twice, and a message arriving during a run waits for the next."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import text

from commune_reports.channels import SmtpChannel
from commune_reports.intake.connect import open_from_env
from commune_reports.intake.mailbox import Mailbox
from commune_reports.intake.replies import send_configured
from commune_reports.notices import send_file_notices
from commune_reports.periods import Period
from commune_reports.pipeline import run_periods
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import ensure_schema, get_engine
from tests.conftest import SAMPLE_INBOX
from tests.intake.conftest import write_sources
from tests.remote_servers import DovecotServer
from tests.servers import SmtpServer

Q4 = Period(2023, 4)
MAILBOX = "hop-thu-huyen"
ADDRESS = "baocao@thapmuoi.example.vn"
CONTACT_30052 = "ubnd@myhoa.thapmuoi.example.vn"
CONTACT_30040 = "ubnd@thanhloi.thapmuoi.example.vn"
CONTACT_30037 = "vanphong@thitranmyan.thapmuoi.example.vn"
CLERK = "canbo.thanhloi@gmail.example.com"  # not a contact of the unit
ON_TIME = dt.datetime(2023, 12, 12, 9, 30, tzinfo=dt.UTC)  # before the 2023Q4 deadline


def _message(sender: str, subject: str, message_id: str, **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, ADDRESS, subject, message_id
    m["Date"] = "Tue, 12 Dec 2023 08:00:00 +0700"  # the sender's claim: not the receipt time
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content("Kính gửi phòng Nội vụ, xin gửi báo cáo quý IV/2023.")
    return m


def _attach(m: EmailMessage, path: Path, name: str | None = None) -> EmailMessage:
    m.add_attachment(
        path.read_bytes(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=name or path.name,
    )
    return m


def _wrong_form(home: Path) -> Path:
    path = write_form("30040", Q4.code, home / "made" / "30040_2023Q4.xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["BaoCao"]
    for row in range(7, 16):
        sheet.cell(row, 5).value = 10
    sheet["E12"], sheet["E13"] = 100, 140  # more online dossiers than received
    book.save(path)
    return path


@pytest.fixture
def mailbox(home: Path, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMMUNE_REPORTS_IMAP",
        f"imap://{dovecot.user}:{dovecot.password}@127.0.0.1:{dovecot.port}?use_ssl=false",
    )
    write_sources(
        home,
        f'[[source]]\nname = "{MAILBOX}"\nkind = "imap"\nconn_id = "commune_reports_imap"\n'
        f'handled_folder = "Da xu ly"\naddress = "{ADDRESS}"\n',
        monkeypatch,
    )
    return MAILBOX


def _replies(smtp: SmtpServer) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for rcpts, message in smtp.inbox.messages:
        for rcpt in rcpts:
            out.setdefault(rcpt, []).append(message)
    return out


def _body(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_forms_by_mail_are_loaded_at_the_servers_time_and_answered(
    home: Path, warehouse: str, mailbox: str, dovecot: DovecotServer, smtp: SmtpServer
) -> None:
    sample = SAMPLE_INBOX / Q4.code
    # delivered now by the mail server, although the sender's Date says December 2023
    dovecot.deliver(
        _attach(
            _message(CONTACT_30052, "Báo cáo quý IV", "<m1@myhoa.vn>"), sample / "30052_2023Q4.xlsx"
        )
    )
    # received by the server before the deadline (a mailbox migrated with its dates)
    dovecot.append(
        _attach(_message(CONTACT_30037, "BC quý 4", "<m5@myan.vn>"), sample / "30037_2023Q4.xlsx"),
        ON_TIME.timestamp(),
    )
    dovecot.deliver(
        _attach(_message(CLERK, "Thạnh Lợi gửi báo cáo", "<m2@gmail>"), _wrong_form(home))
    )
    dovecot.deliver(_message(CONTACT_30040, "Quên đính kèm", "<m3@thanhloi.vn>"))
    zipped = _message(CONTACT_30040, "Gửi file nén", "<m4@thanhloi.vn>")
    archive = home / "made" / "bao_cao.zip"
    shutil.make_archive(str(archive.with_suffix("")), "zip", sample, "30040_2023Q4.xlsx")
    zipped.add_attachment(
        archive.read_bytes(), maintype="application", subtype="zip", filename="bao_cao.zip"
    )
    zipped.add_attachment(
        b"\x89PNG\r\n\x1a\n",
        maintype="image",
        subtype="png",
        filename="chu_ky.png",
        disposition="inline",
    )
    dovecot.deliver(zipped)
    dovecot.deliver(
        _message(
            "mailer-daemon@thanhloi.vn", "Undelivered", "<m6@x>", Auto_Submitted="auto-replied"
        )
    )

    summary = run_periods(load_settings(), [Q4])

    assert summary["sources"][MAILBOX]["items"] == 6
    engine = get_engine(warehouse)
    with engine.connect() as conn:
        subs = {
            r.unit_code: r
            for r in conn.execute(
                text("SELECT unit_code, status, received_at, received_via FROM submissions")
            )
        }
        status = dict(
            conn.execute(
                text(
                    "SELECT unit_code, status FROM completeness WHERE period_code = :p "
                    "AND regime = 'quarterly'"
                ),
                {"p": Q4.code},
            ).all()
        )
        items = conn.execute(
            text("SELECT item_key, part, name, outcome FROM intake_items ORDER BY item_key, part")
        ).all()
    assert {u: s.status for u, s in subs.items()} == {
        "30052": "accepted",
        "30037": "accepted",
        "30040": "rejected",
    }
    assert {s.received_via for s in subs.values()} == {"imap"}
    inbox_dates = {m["Message-ID"]: m for m in map(_parse, dovecot.folder("Da xu ly"))}
    assert len(inbox_dates) == 6 and dovecot.folder("INBOX") == []
    received = _as_utc(subs["30037"].received_at)
    assert received == ON_TIME  # the server's receipt time, to the second
    late = _as_utc(subs["30052"].received_at)
    assert dt.datetime.now(dt.UTC) - late < dt.timedelta(minutes=5)  # not the Date header
    assert status["30052"] == "late" and status["30037"] == "on_time"
    assert [(i.item_key, i.part, i.name, i.outcome) for i in items] == [
        ("<m1@myhoa.vn>", "1", "30052_2023Q4.xlsx", "taken"),
        ("<m2@gmail>", "1", "30040_2023Q4.xlsx", "taken"),
        ("<m3@thanhloi.vn>", "-", "", "no_attachment"),
        ("<m4@thanhloi.vn>", "1", "bao_cao.zip", "archive"),
        ("<m5@myan.vn>", "1", "30037_2023Q4.xlsx", "taken"),
        ("<m6@x>", "-", "", "automatic"),
    ]

    channels = [SmtpChannel(host="127.0.0.1", port=smtp.port, sender=ADDRESS, timeout=5)]
    now = dt.datetime.now(dt.UTC)
    notices = send_file_notices(engine, channels, now)
    sent = send_configured(engine, channels, now)

    assert notices == []  # the rejection is in the reply to the clerk's message
    got = _replies(smtp)
    assert sorted(got) == sorted([CONTACT_30052, CONTACT_30037, CLERK, CONTACT_30040])
    assert len(sent) == 6 and "mailer-daemon@thanhloi.vn" not in got
    (accepted,) = got[CONTACT_30052]
    assert accepted["Subject"] == "Re: Báo cáo quý IV"
    assert accepted["In-Reply-To"] == "<m1@myhoa.vn>" == accepted["References"]
    assert accepted["Auto-Submitted"] == "auto-replied" and accepted["Reply-To"] == ADDRESS
    body = _body(accepted)
    assert "- 30052_2023Q4.xlsx: đã nhận và tổng hợp (đơn vị 30052, kỳ 2023Q4)." in body
    assert "ghi nhận là nộp trễ hạn" in body and "recorded as late" in body
    assert body.index("Kính gửi") < body.index("Dear colleague")  # Vietnamese, then English
    assert "nộp trễ" not in _body(got[CONTACT_30037][0])
    (rejected,) = got[CLERK]
    body = _body(rejected)
    assert rejected["In-Reply-To"] == "<m2@gmail>"
    assert "bị từ chối, chưa được tổng hợp" in body and "[BaoCao!E13]" in body
    assert "rejected, not loaded" in body and "[online_le_total]" in body
    # the unit's contact gets the clerk's verdict too, and its own two messages answered
    by_thread = {m["In-Reply-To"]: _body(m) for m in got[CONTACT_30040]}
    assert set(by_thread) == {"<m2@gmail>", "<m3@thanhloi.vn>", "<m4@thanhloi.vn>"}
    assert "Thư không có tệp biểu mẫu đính kèm" in by_thread["<m3@thanhloi.vn>"]
    assert "- bao_cao.zip: tệp nén, không được đọc" in by_thread["<m4@thanhloi.vn>"]
    assert "chu_ky.png" not in by_thread["<m4@thanhloi.vn>"]  # a signature: left alone

    # again: nothing taken, nothing sent twice
    again = run_periods(load_settings(), [Q4])
    assert again["sources"][MAILBOX] == {"items": 0, "again": 0}
    assert send_configured(engine, channels, now) == []
    assert send_file_notices(engine, channels, now) == []
    assert len(smtp.inbox.messages) == 6
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM submissions")).scalar_one() == 3


def _parse(raw: bytes) -> Any:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _as_utc(value: Any) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


class _ArrivesDuringTheRun(Mailbox):
    """The real mailbox; a unit's message reaches the server while this run reads."""

    def __init__(self, *args: Any, server: DovecotServer, late: EmailMessage) -> None:
        super().__init__(*args)
        self.server, self.late = server, late

    def offered(self, known: set[str], now: dt.datetime):  # type: ignore[override]
        for i, item in enumerate(super().offered(known, now)):
            if i == 0:
                self.server.deliver(self.late)
            yield item


def test_a_message_arriving_during_a_run_is_taken_by_the_next(
    home: Path, warehouse: str, mailbox: str, dovecot: DovecotServer, monkeypatch
) -> None:
    sample = SAMPLE_INBOX / Q4.code
    dovecot.deliver(
        _attach(_message(CONTACT_30052, "BC", "<a@myhoa.vn>"), sample / "30052_2023Q4.xlsx")
    )
    late = _attach(_message(CONTACT_30037, "BC", "<b@myan.vn>"), sample / "30037_2023Q4.xlsx")

    def opener(config: Any, stack: Any) -> Any:
        plain = open_from_env(config, stack)
        return _ArrivesDuringTheRun(
            config.name,
            plain.client,
            config.folder,
            config.handled_folder,
            server=dovecot,
            late=late,
        )

    from commune_reports.intake import take as take_module

    monkeypatch.setattr(take_module, "open_from_env", opener, raising=False)
    first = take_module.take_configured(load_settings(), "run-1", opener=opener)
    assert first[MAILBOX]["items"] == 1
    assert [_parse(m)["Message-ID"] for m in dovecot.folder("INBOX")] == ["<b@myan.vn>"]

    second = run_periods(load_settings(), [Q4])
    assert second["sources"][MAILBOX]["items"] == 1
    assert dovecot.folder("INBOX") == []
    with get_engine(warehouse).connect() as conn:
        units = (
            conn.execute(
                text("SELECT unit_code FROM submissions WHERE status = 'accepted' ORDER BY 1")
            )
            .scalars()
            .all()
        )
    assert units == ["30037", "30052"]


def test_overlapping_runs_take_each_message_once(
    home: Path, warehouse: str, mailbox: str, dovecot: DovecotServer
) -> None:
    """The light discovery and a collection run reading the mailbox at once: each message is
    one item, taken (not a duplicate of itself), and moved once."""
    import threading

    from commune_reports.intake.config import load_sources
    from commune_reports.intake.take import take

    sample = sorted((SAMPLE_INBOX / Q4.code).glob("*.xlsx"))[:6]
    for i, path in enumerate(sample):
        dovecot.deliver(_attach(_message(CONTACT_30052, f"BC {i}", f"<o{i}@x>"), path))
    engine = get_engine(warehouse)
    ensure_schema(engine)
    (config,) = load_sources()
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def one(batch: str) -> None:
        try:
            client = dovecot.client()
            source = Mailbox(config.name, client, config.folder, config.handled_folder)
            results.append(take(engine, load_settings(), source, batch, dt.datetime.now(dt.UTC)))
            client.logout()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(f"run-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(r["items"] for r in results) == [0, 6]
    with engine.connect() as conn:
        outcomes = conn.execute(text("SELECT outcome, COUNT(*) FROM intake_items GROUP BY 1")).all()
    assert [tuple(o) for o in outcomes] == [("taken", 6)]
    assert len(dovecot.folder("Da xu ly")) == 6 and dovecot.folder("INBOX") == []

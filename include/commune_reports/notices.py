"""Notices about one submission, sent as soon as a run has handled it:

- ``rejected``: to the unit's contacts (the district's when the unit is unknown), with every
  problem of the file at once: sheet, cell, value found and how to fix it, Vietnamese then
  English (the same text as the quarantine note); by e-mail only when the file was not mailed
  in (then the reply to its message, :mod:`commune_reports.intake.replies`, says it);
- ``pending_correction``: to the district, a delivery for an approved period, held until the
  district decides, with what it would change;
- ``stale_revision``: to the unit and the district, a replacement file that was last modified
  before the file it replaced, in case an old version was sent by mistake;
- ``held``: to the unit and the district, a file held by a blocking check (its figures do not
  reconcile with the unit's other forms), with each finding, its cells and the fix: the unit
  corrects the wrong form or the district releases the file (:mod:`commune_reports.holds`).

What is owed is written with the status change that calls for it (``notices_due``; a stale
revision by its warning). A notice is recorded in ``notices_sent`` per channel and recipient
only once delivered, so a rerun sends nothing twice and a failed delivery is tried again by the
next run.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text

from commune_reports.catalog import Catalog, load_catalog
from commune_reports.channels import (
    Channel,
    DeliveryError,
    Message,
    SmtpChannel,
    raise_failures,
    recorded,
    targets,
)
from commune_reports.hierarchy import oversight_emails
from commune_reports.ledger import select_in
from commune_reports.warehouse import exclusive, utc_seconds, writing

log = logging.getLogger(__name__)
KINDS = ("rejected", "pending_correction", "stale_revision", "held")


def pending(engine: Engine) -> tuple[list[dict[str, Any]], set[tuple[str, str, str, str]]]:
    """Notices owed, with their submission, and the (submission, kind, channel, recipient)
    deliveries already made."""
    columns = "s.unit_code, s.regime, s.period_code, s.original_name, s.submission_id"
    with engine.connect() as conn:
        owed = conn.execute(
            text(
                f"SELECT n.kind, {columns}, NULL AS message_vi, NULL AS message_en, "
                "s.arrival_seq, 0 AS seq FROM notices_due AS n JOIN submissions AS s "
                "ON s.submission_id = n.submission_id"
            )
        ).all()
        stale = conn.execute(
            text(
                f"SELECT w.rule AS kind, {columns}, w.message_vi, w.message_en, s.arrival_seq, "
                "w.seq FROM submission_warnings AS w JOIN submissions AS s "
                "ON s.submission_id = w.submission_id WHERE w.rule = 'stale_revision'"
            )
        ).all()
        sent = {
            (r.submission_id, r.kind, *recorded(r.channel, r.recipient))
            for r in conn.execute(
                text("SELECT submission_id, kind, channel, recipient FROM notices_sent")
            )
        }
        problems = file_problems(
            conn,
            rejected=sorted({r.submission_id for r in owed if r.kind == "rejected"}),
            held=sorted({r.submission_id for r in owed if r.kind == "held"}),
        )
    rows = sorted([*owed, *stale], key=lambda r: (r.arrival_seq or 0, r.seq))
    out = []
    for r in rows:
        item = dict(r._mapping)
        item["problems"] = problems.get(r.submission_id, [])
        out.append(item)
    return out, sent


# a rejected file's errors, and a held file's findings in the same shape (IN :ids expands)
_PROBLEMS = (
    "SELECT submission_id, rule, sheet, cell, found, message_vi, message_en "
    "FROM submission_errors WHERE submission_id IN :ids ORDER BY submission_id, seq",
    "SELECT submission_id, check_code AS rule, sheet, cell, CAST(value AS TEXT) AS found, "
    "message_vi, message_en FROM submission_holds WHERE submission_id IN :ids "
    "ORDER BY submission_id, check_code, period_code",
)


def file_problems(
    conn: Connection, rejected: Sequence[str], held: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each file's problems (sheet, cell, value found, both messages, rule): the errors of
    the ``rejected`` files and the findings holding the ``held`` ones."""
    problems: dict[str, list[dict[str, Any]]] = {}
    for sql, ids in zip(_PROBLEMS, (rejected, held), strict=True):
        for r in select_in(conn, sql, list(ids)):
            problems.setdefault(r.submission_id, []).append(dict(r._mapping))
    return problems


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{html.escape(x)}</p>" for x in lines if x)


def _bilingual(
    subject: str, lines_vi: list[str], lines_en: list[str], payload: dict[str, Any]
) -> Message:
    """Vietnamese above a rule, English below it, as text and as HTML."""
    text_body = "\n".join([*lines_vi, "", "---", *lines_en, ""])
    html_body = (
        "<html><body>"
        + _paragraphs(lines_vi)
        + '<hr><div lang="en">'
        + _paragraphs(lines_en)
        + "</div></body></html>"
    )
    return Message(subject=subject, text=text_body, html=html_body, payload=payload)


def compose(notice: dict[str, Any], engine: Engine | None = None) -> Message:
    """Vietnamese first, English below; plain text and HTML; the payload for webhooks."""
    unit, period, name = (
        notice["unit_code"] or "?",
        notice["period_code"] or "?",
        notice["original_name"],
    )
    kind = notice["kind"]
    payload = {
        "stage": kind,
        "regime": notice["regime"],
        "period": notice["period_code"],
        "unit": notice["unit_code"],
        "submission_id": notice["submission_id"],
        "file": name,
    }
    if kind == "rejected":
        from commune_reports.quarantine import feedback_text

        subject = f"[Tệp bị từ chối / File rejected] {unit} {period}: {name}"
        body = feedback_text(name, notice["problems"])
        text_body = (
            f"Đơn vị {unit}, kỳ {period}: sửa tất cả các lỗi dưới đây rồi gửi lại tệp.\n"
            f"Unit {unit}, period {period}: fix every problem below, then send the file again."
            f"\n\n{body}"
        )
        payload["problems"] = [
            {k: p[k] for k in ("rule", "sheet", "cell", "found", "message_vi", "message_en")}
            for p in notice["problems"]
        ]
        html_body = (
            "<html><body>"
            + "".join(
                f"<p>{html.escape(line)}</p>" if line else "" for line in text_body.splitlines()
            )
            + "</body></html>"
        )
        return Message(subject=subject, text=text_body, html=html_body, payload=payload)
    if kind == "held":
        subject = f"[Tệp bị giữ lại / File held] {unit} {period}: {name}"
        lines_vi = [
            f"Đơn vị {unit}, kỳ {period}: tệp {name} chưa được nạp vì số liệu không khớp biểu "
            "khác của đơn vị. Sửa biểu sai rồi gửi lại, hoặc đề nghị huyện xác nhận "
            "(commune-reports held --release).",
            *[f"- {p['message_vi']}" for p in notice["problems"]],
        ]
        lines_en = [
            f"Unit {unit}, period {period}: {name} is not loaded because its figures do not "
            "reconcile with the unit's other forms. Correct the wrong form and send it again, "
            "or ask the district to confirm (commune-reports held --release).",
            *[f"- {p['message_en']}" for p in notice["problems"]],
        ]
        payload["problems"] = [
            {k: p[k] for k in ("rule", "sheet", "cell", "found", "message_vi", "message_en")}
            for p in notice["problems"]
        ]
        return _bilingual(subject, lines_vi, lines_en, payload)
    if kind == "pending_correction":
        from commune_reports.approvals import correction_lines, state
        from commune_reports.periods import parse_period

        lines = []
        if engine is not None and notice["period_code"]:
            for st in state(engine, parse_period(notice["period_code"])):
                for c in st.pending:
                    if c.submission_id == notice["submission_id"]:
                        lines = correction_lines(c)
        subject = f"[Bản sửa chờ duyệt / Correction to approve] {unit} {period}: {name}"
        lines_vi = [
            f"Kỳ {period} đã được duyệt. Đơn vị {unit} gửi tệp {name}: số liệu chưa thay đổi, "
            "chờ huyện quyết định (commune-reports corrections / approve, hoặc mục cần xử lý "
            "trong Airflow).",
        ]
        lines_en = [
            f"Period {period} is approved. Unit {unit} sent {name}: no figure has changed; it "
            "waits for the district's decision (commune-reports corrections / approve, or the "
            "required actions in Airflow).",
        ]
        return _bilingual(subject, [*lines_vi, *lines], lines_en, payload)
    subject = f"[Tệp thay thế cũ hơn / Older replacement] {unit} {period}: {name}"
    lines_vi = [
        f"Đơn vị {unit}, kỳ {period}: {notice['message_vi']}",
        "Nếu số liệu đã đúng, không cần làm gì thêm.",
    ]
    lines_en = [
        f"Unit {unit}, period {period}: {notice['message_en']}",
        "If the figures are right, nothing more is needed.",
    ]
    return _bilingual(subject, lines_vi, lines_en, payload)


def recipients(notice: dict[str, Any], catalog: Catalog) -> list[str]:
    """Whom a notice is mailed to: see the module's docstring. The district is the unit's
    overseer in the tree (its district, or its province after the reform)."""
    unit = list(catalog.emails(notice["unit_code"])) if notice["unit_code"] else []
    district = oversight_emails(catalog, notice["unit_code"] or None)
    if notice["kind"] == "rejected":
        return unit or district
    if notice["kind"] == "pending_correction":
        return district
    return unit + [m for m in district if m not in unit]


def send_file_notices(
    engine: Engine,
    channels: Sequence[Channel],
    now: dt.datetime,
    catalog: Catalog | None = None,
) -> list[dict[str, Any]]:
    """Deliver every notice not yet delivered, to its recipients on every channel; record
    each success at once; raise all failures together (retried by the next run)."""
    catalog = catalog or load_catalog()
    delivered: list[dict[str, Any]] = []
    failures: list[str] = []
    with exclusive(engine, "alerts"):
        notices, sent = pending(engine)
        if notices and not channels:
            log.warning("%d file notices due but no channel configured: nothing sent", len(notices))
        from commune_reports.intake.replies import mailed_submissions

        # a file mailed in is rejected in the reply to its message: no second e-mail
        mailed = mailed_submissions(
            engine, sorted({n["submission_id"] for n in notices if n["kind"] == "rejected"})
        )
        for notice in notices:
            message = compose(notice, engine)
            mails = recipients(notice, catalog)
            for channel in channels:
                if isinstance(channel, SmtpChannel) and (
                    notice["kind"] == "rejected" and notice["submission_id"] in mailed
                ):
                    continue
                for recipient in targets(channel, mails):
                    key = (notice["submission_id"], notice["kind"], channel.name, recipient)
                    if key in sent:
                        continue
                    try:
                        channel.send(recipient, message)
                    except DeliveryError as exc:
                        failures.append(str(exc))
                        continue
                    row = dict(zip(("submission", "kind", "channel", "to"), key, strict=True))
                    with writing(engine) as conn:
                        conn.execute(
                            text(
                                "INSERT INTO notices_sent (submission_id, kind, channel, "
                                "recipient, sent_at) VALUES (:submission, :kind, :channel, :to, "
                                ":at)"
                            ),
                            row | {"at": utc_seconds(now)},
                        )
                    delivered.append(row)
    raise_failures(failures, "notice deliveries")
    return delivered

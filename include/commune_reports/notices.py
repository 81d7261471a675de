"""Notices about one submission, sent to its unit and the district once each: today, a
replacement file that was last modified before the file it replaced (``stale_revision``), in
case an old version was sent by mistake.

A notice is recorded in ``notices_sent`` per channel and recipient only once delivered, so a
rerun sends nothing twice and a failed delivery is tried again by the next run.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, text

from commune_reports.alerts import district_code
from commune_reports.catalog import Catalog, load_catalog
from commune_reports.channels import Channel, DeliveryError, Message, recorded, targets
from commune_reports.warehouse import exclusive, utc_seconds, writing

log = logging.getLogger(__name__)
KINDS = ("stale_revision",)


def pending(engine: Engine) -> tuple[list[dict[str, Any]], set[tuple[str, str, str, str]]]:
    """Warnings that call for a notice, with their submission, and the (submission, kind,
    channel, recipient) deliveries already made."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT w.submission_id, w.rule AS kind, w.message_vi, w.message_en, "
                "s.unit_code, s.regime, s.period_code, s.original_name "
                "FROM submission_warnings AS w JOIN submissions AS s "
                "ON s.submission_id = w.submission_id "
                "WHERE w.rule IN ('stale_revision') ORDER BY s.arrival_seq, w.seq"
            )
        ).all()
        sent = {
            (r.submission_id, r.kind, *recorded(r.channel, r.recipient))
            for r in conn.execute(
                text("SELECT submission_id, kind, channel, recipient FROM notices_sent")
            )
        }
    return [dict(r._mapping) for r in rows], sent


def compose(notice: dict[str, Any]) -> Message:
    """Vietnamese first, English below; plain text and HTML; the payload for webhooks."""
    unit, period = notice["unit_code"], notice["period_code"]
    subject = (
        f"[Tệp thay thế cũ hơn / Older replacement] {unit} {period}: {notice['original_name']}"
    )
    lines_vi = [
        f"Đơn vị {unit}, kỳ {period}: {notice['message_vi']}",
        "Nếu số liệu đã đúng, không cần làm gì thêm.",
    ]
    lines_en = [
        f"Unit {unit}, period {period}: {notice['message_en']}",
        "If the figures are right, nothing more is needed.",
    ]
    text_body = "\n".join([*lines_vi, "", "---", *lines_en, ""])
    html_body = (
        "<html><body>"
        + "".join(f"<p>{html.escape(x)}</p>" for x in lines_vi)
        + '<hr><div lang="en">'
        + "".join(f"<p>{html.escape(x)}</p>" for x in lines_en)
        + "</div></body></html>"
    )
    payload = {
        "stage": notice["kind"],
        "regime": notice["regime"],
        "period": period,
        "unit": unit,
        "submission_id": notice["submission_id"],
        "file": notice["original_name"],
    }
    return Message(subject=subject, text=text_body, html=html_body, payload=payload)


def send_file_notices(
    engine: Engine,
    channels: Sequence[Channel],
    now: dt.datetime,
    catalog: Catalog | None = None,
) -> list[dict[str, Any]]:
    """Deliver every notice not yet delivered, to the unit's contacts and the district's;
    record each success at once; raise all failures together (retried by the next run)."""
    catalog = catalog or load_catalog()
    delivered: list[dict[str, Any]] = []
    failures: list[str] = []
    with exclusive(engine, "alerts"):
        district = list(catalog.emails(district_code(catalog), "district"))
        notices, sent = pending(engine)
        if notices and not channels:
            log.warning("%d file notices due but no channel configured: nothing sent", len(notices))
        for notice in notices:
            message = compose(notice)
            mails = list(catalog.emails(notice["unit_code"]))
            mails += [m for m in district if m not in mails]
            for channel in channels:
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
    if failures:
        raise DeliveryError(
            f"{len(failures)} notice deliveries failed (not recorded, will be retried): "
            + "; ".join(failures[:5])
        )
    return delivered

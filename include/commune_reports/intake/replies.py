"""The verdict mailed back for each message a mailbox source took, as a reply to it.

A message is answered once every file in it has reached a final status: accepted, rejected
(every problem with sheet and cell), held, a correction waiting for the district. What was
not a form (a zip, a PDF) and a message with no form are answered too; an automatic message
(an auto-reply, a bounce) never is. The reply goes to the sender (``In-Reply-To`` and
``References`` their message, ``Auto-Submitted: auto-replied``) and, when the sender is not
one of the unit's contacts, to those contacts as well. Each delivery is recorded in
``intake_replies`` once made, so a rerun sends nothing twice and a failed one is tried again.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from commune_reports.catalog import Catalog, load_catalog
from commune_reports.channels import Channel, DeliveryError, Message, SmtpChannel, raise_failures
from commune_reports.ledger import FINAL, select_in
from commune_reports.notices import file_problems
from commune_reports.periods import TIMEZONE
from commune_reports.warehouse import exclusive, query, utc_seconds, writing

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "mail"


def _moment(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _local(moment: dt.datetime, pattern: str) -> str:
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime(pattern)


def due(engine: Engine) -> list[dict[str, Any]]:
    """The messages to answer now: their files, each with its verdict and problems."""
    with engine.connect() as conn:
        rows = conn.execute(query("intake_replies_due")).all()
        problems = file_problems(
            conn,
            rejected=sorted({r.submission_id for r in rows if r.status == "rejected"}),
            held=sorted({r.submission_id for r in rows if r.status == "held"}),
        )
    messages: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        message = messages.setdefault(
            (r.source, r.item_key),
            {
                "source": r.source,
                "item_key": r.item_key,
                "sender": r.sender,
                "message_id": r.message_id,
                "subject": r.subject or "",
                "received_at": _moment(r.received_at),
                "files": [],
                "ready": True,
            },
        )
        if r.outcome in ("no_attachment", "automatic"):
            continue
        if r.submission_id and r.status not in FINAL:
            message["ready"] = False  # still being processed: answered by a later run
        deadline = _moment(r.deadline_at)
        received = _moment(r.submission_received_at)
        message["files"].append(
            {
                "name": r.name,
                "outcome": r.outcome,
                "status": r.status,
                "unit": r.unit_code,
                "period": r.period_code,
                "late": bool(deadline and received and received > deadline),
                "deadline": _local(deadline, "%d/%m/%Y") if deadline else "",
                "problems": problems.get(r.submission_id, [])
                if r.status in ("rejected", "held")
                else [],
            }
        )
    return [m for m in messages.values() if m["ready"]]


@cache
def _template() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain text; the HTML part escapes it line by line
    )
    return env.get_template("reply.txt.j2")


def compose(message: dict[str, Any], reply_to: str = "") -> Message:
    """The reply: Vietnamese, then English; threaded under the unit's message."""
    body = _template().render(
        subject=message["subject"] or "(không tiêu đề / no subject)",
        received=_local(message["received_at"], "%H:%M %d/%m/%Y"),
        files=message["files"],
    )
    subject = message["subject"].strip() or "Báo cáo / Report"
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    headers = {"Auto-Submitted": "auto-replied"}
    if message["message_id"]:
        headers |= {"In-Reply-To": message["message_id"], "References": message["message_id"]}
    if reply_to:
        headers["Reply-To"] = reply_to
    html_body = (
        "<html><body>"
        + "".join(
            f"<p>{html.escape(line)}</p>" if line.strip() else "" for line in body.splitlines()
        )
        + "</body></html>"
    )
    payload = {
        "stage": "reply",
        "source": message["source"],
        "message_id": message["message_id"],
        "files": [
            {k: f[k] for k in ("name", "outcome", "status", "unit", "period", "late")}
            for f in message["files"]
        ],
    }
    return Message(subject=subject, text=body, html=html_body, payload=payload, headers=headers)


def recipients(message: dict[str, Any], catalog: Catalog) -> list[str]:
    """The sender, then the contacts of each unit in the message the sender is not one of."""
    sender = message["sender"]
    out = [sender]
    for unit in sorted({f["unit"] for f in message["files"] if f["unit"]}):
        contacts = [m.lower() for m in catalog.emails(unit)]
        if sender not in contacts:
            out += [m for m in contacts if m not in out]
    return out


def send_replies(
    engine: Engine,
    channels: Sequence[Channel],
    now: dt.datetime,
    catalog: Catalog | None = None,
    reply_to: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Answer every message due, by e-mail only (a reply is to a person's message); record
    each delivery at once; raise the failures together (tried again by the next run)."""
    mail = [c for c in channels if isinstance(c, SmtpChannel)]
    catalog = catalog or load_catalog()
    reply_to = reply_to or {}
    delivered: list[dict[str, str]] = []
    failures: list[str] = []
    with exclusive(engine, "alerts"):
        messages = due(engine)
        if messages and not mail:
            log.warning("%d replies due but no SMTP channel configured: none sent", len(messages))
            return []
        with engine.connect() as conn:
            sent = {
                (r.source, r.item_key, r.recipient)
                for r in conn.execute(
                    text("SELECT source, item_key, recipient FROM intake_replies")
                )
            }
        for message in messages:
            reply = compose(message, reply_to.get(message["source"], ""))
            complete = True
            for recipient in recipients(message, catalog):
                key = (message["source"], message["item_key"], recipient)
                if key in sent:
                    continue
                try:
                    for channel in mail:
                        channel.send(recipient, reply)
                except DeliveryError as exc:
                    failures.append(str(exc))
                    complete = False
                    continue
                with writing(engine) as conn:
                    conn.execute(
                        text(
                            "INSERT INTO intake_replies (source, item_key, recipient, sent_at) "
                            "VALUES (:source, :key, :to, :at)"
                        ),
                        {"source": key[0], "key": key[1], "to": recipient, "at": utc_seconds(now)},
                    )
                delivered.append({"source": key[0], "message": key[1], "to": recipient})
            if complete:
                with writing(engine) as conn:
                    conn.execute(
                        text(
                            "UPDATE intake_items SET answered_at = :at "
                            "WHERE source = :source AND item_key = :key"
                        ),
                        {
                            "at": utc_seconds(now),
                            "source": message["source"],
                            "key": message["item_key"],
                        },
                    )
    raise_failures(failures, "replies")
    return delivered


def send_configured(
    engine: Engine, channels: Sequence[Channel], now: dt.datetime
) -> list[dict[str, str]]:
    """:func:`send_replies` with each source's address (``address``) as the Reply-To."""
    from commune_reports.intake.config import load_sources

    addresses = {c.name: c.address for c in load_sources() if c.address}
    return send_replies(engine, channels, now, reply_to=addresses)


def mailed_submissions(engine: Engine, ids: Sequence[str]) -> set[str]:
    """Of ``ids``, the submissions whose sender gets a reply (their rejection is in it)."""
    with engine.connect() as conn:
        return {
            r.submission_id
            for r in select_in(
                conn,
                "SELECT DISTINCT submission_id FROM intake_items "
                "WHERE sender IS NOT NULL AND submission_id IN :ids",
                list(ids),
            )
        }

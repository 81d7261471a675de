"""A mailbox over IMAP: each message is an item, its spreadsheet attachments the files.

The receipt time is the server's INTERNALDATE (when the mail server received the message;
the sender cannot set it, unlike the Date header). The item key is the message's Message-ID
(else the folder's UIDVALIDITY and the UID), kept in ``intake_items`` so that a message is
never taken twice, even when moving it to the handled folder failed. The messages are the
ones in the folder when a run starts: one arriving during the run stays for the next.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import imaplib
import logging
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from commune_reports.intake.items import Offered, classify

log = logging.getLogger(__name__)
FETCH_AT_ONCE = 100  # headers fetched per command
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_UID = re.compile(rb"UID (\d+)")
# RFC 3834 and the usual list and bounce markers: never answer these (no mail loops)
_AUTOMATIC_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.I)


class MailboxError(RuntimeError):
    """The IMAP server refused a command: one line with the command and its answer."""


def _ok(answer: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise MailboxError(f"IMAP {what}: {status} {detail}".strip())
    return data


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    """One folder of one mailbox, read through a logged-in ``imaplib`` client (the package's
    own, or Airflow's ``ImapHook().get_conn().mail_client``)."""

    kind = "imap"

    def __init__(
        self,
        name: str,
        client: imaplib.IMAP4,
        folder: str = "INBOX",
        handled_folder: str = "Processed",
    ) -> None:
        self.name, self.client = name, client
        self.folder, self.handled_folder = folder, handled_folder

    def offered(self, known: set[str], now: dt.datetime) -> Iterator[Offered]:
        _ok(self.client.select(_quote(self.folder)), f"SELECT {self.folder}")
        validity = (self.client.response("UIDVALIDITY")[1] or [b"0"])[0]
        validity = validity.decode() if isinstance(validity, bytes) else str(validity)
        uids = _ok(self.client.uid("SEARCH", None, "ALL"), "UID SEARCH")[0].split()
        for start in range(0, len(uids), FETCH_AT_ONCE):
            batch = b",".join(uids[start : start + FETCH_AT_ONCE]).decode()
            data = _ok(
                self.client.uid(
                    "FETCH", batch, "(UID INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
                ),
                "UID FETCH",
            )
            for head, header in _responses(data):
                uid = _UID.search(head).group(1).decode()
                moment = _INTERNALDATE.search(head).group(1).decode().strip()
                received = dt.datetime.strptime(moment, "%d-%b-%Y %H:%M:%S %z")
                message_id = email.message_from_bytes(header).get("Message-ID", "").strip()
                key = message_id or f"{self.folder}:{validity}:{uid}"
                if key in known:
                    yield Offered(key, self.kind, received, handle=uid, again=True)
                    continue
                item = self._item(key, uid, received, message_id or None)
                if item is not None:
                    yield item

    def _item(
        self, key: str, uid: str, received: dt.datetime, message_id: str | None
    ) -> Offered | None:
        data = _ok(self.client.uid("FETCH", uid, "(BODY.PEEK[])"), "UID FETCH")
        raw = next((body for _, body in _responses(data)), None)
        if raw is None:
            log.info("message %s is gone from %s (another client moved it)", key, self.folder)
            return None
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        senders = getaddresses([str(message.get("From", ""))])
        sender = senders[0][1].strip().lower() if senders and senders[0][1] else None
        item = Offered(
            key,
            self.kind,
            received,
            sender=sender,
            message_id=message_id,
            subject=str(message.get("Subject", "")),
            automatic=_automatic(message, sender),
            handle=uid,
        )
        for part in message.walk():
            if part.is_multipart():
                continue
            name = part.get_filename()
            if not name:
                continue  # the message's own text, or an unnamed inline part
            name = name.replace("\r", "").replace("\n", "").strip()
            kind = classify(name, part.get_content_type())
            if kind == "form":
                item.files.append((name, part.get_payload(decode=True) or b""))
            elif kind == "image":
                item.ignored.append(name)  # a signature or a logo
            else:
                item.refused.append((name, kind))
        return item

    def done(self, items: list[Offered]) -> None:
        """Move the items' messages to the handled folder (created when missing)."""
        uids = [str(i.handle) for i in items]
        if not uids:
            return
        status, _ = self.client.create(_quote(self.handled_folder))
        if status != "OK":
            log.debug("IMAP CREATE %s: %s (exists)", self.handled_folder, status)
        capabilities = _capabilities(self.client)
        for start in range(0, len(uids), FETCH_AT_ONCE):
            batch = ",".join(uids[start : start + FETCH_AT_ONCE])
            if "MOVE" in capabilities:
                _ok(self.client.uid("MOVE", batch, _quote(self.handled_folder)), "UID MOVE")
                continue
            _ok(self.client.uid("COPY", batch, _quote(self.handled_folder)), "UID COPY")
            _ok(self.client.uid("STORE", batch, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
            if "UIDPLUS" in capabilities:
                _ok(self.client.uid("EXPUNGE", batch), "UID EXPUNGE")
            else:
                _ok(self.client.expunge(), "EXPUNGE")


def _capabilities(client: Any) -> set[str]:
    """The server's capabilities now (after login they may differ from the greeting's)."""
    status, data = client.capability()
    if status != "OK" or not data:
        return {str(c).upper() for c in getattr(client, "capabilities", ())}
    return {c.upper() for c in data[-1].decode(errors="replace").split()}


def _responses(data: list[Any]) -> Iterator[tuple[bytes, bytes]]:
    """(response line, literal) pairs of a FETCH answer (imaplib puts a b')' in between)."""
    for entry in data:
        if isinstance(entry, tuple) and len(entry) == 2:
            yield entry[0], entry[1]


def _automatic(message: EmailMessage, sender: str | None) -> bool:
    """An auto-reply, a bounce or a list message (RFC 3834): taken, but never answered."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto != "no"
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or bool(message.get("X-Autoreply") or message.get("X-Autorespond"))
        or not sender
        or bool(_AUTOMATIC_SENDERS.match(sender))
        or message.get_content_type() == "multipart/report"
    )


def open_imap(host: str, port: int | None, login: str, password: str, ssl: bool) -> Any:
    """A logged-in client, outside Airflow (in Airflow, ``ImapHook`` opens it)."""
    import ssl as ssl_module

    if ssl:
        client = imaplib.IMAP4_SSL(
            host, port or 993, ssl_context=ssl_module.create_default_context()
        )
    else:
        client = imaplib.IMAP4(host, port or 143)
    client.login(login, password)
    return client

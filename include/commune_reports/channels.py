"""Where alerts go: e-mail over SMTP and a generic webhook (JSON POST).

Configured from the environment (``COMMUNE_REPORTS_SMTP_*``, ``COMMUNE_REPORTS_WEBHOOK_URL``)
or, in Airflow, from the connections ``commune_reports_smtp`` and ``commune_reports_webhook``
(resolved by :mod:`commune_reports.airflow_support` into the same dataclasses).
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


class DeliveryError(RuntimeError):
    """A channel could not deliver: the alert is not recorded as sent and will be retried."""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int = 25
    sender: str = "commune-reports@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0
    name: str = "email"

    def send(self, recipient: str, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = recipient
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port} to {recipient}: {exc}") from exc


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    timeout: float = 30.0
    name: str = "webhook"

    def send(self, recipient: str, message: Message) -> None:
        body = json.dumps(
            {"subject": message.subject, "text": message.text, **message.payload},
            ensure_ascii=False,
        ).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.status >= 300:
                    raise DeliveryError(f"webhook {self.url}: HTTP {response.status}")
        except OSError as exc:  # URLError and HTTPError are OSErrors
            raise DeliveryError(f"webhook {self.url}: {exc}") from exc


Channel = SmtpChannel | WebhookChannel


def channels_from_env(env: dict[str, str] | None = None) -> list[Channel]:
    """The channels the environment configures (none when nothing is set)."""
    env = dict(os.environ if env is None else env)
    out: list[Channel] = []
    if host := env.get("COMMUNE_REPORTS_SMTP_HOST"):
        out.append(
            SmtpChannel(
                host=host,
                port=int(env.get("COMMUNE_REPORTS_SMTP_PORT") or 25),
                sender=env.get("COMMUNE_REPORTS_SMTP_FROM") or "commune-reports@localhost",
                user=env.get("COMMUNE_REPORTS_SMTP_USER") or None,
                password=env.get("COMMUNE_REPORTS_SMTP_PASSWORD") or None,
                starttls=(env.get("COMMUNE_REPORTS_SMTP_STARTTLS") or "").lower() in {"1", "true"},
            )
        )
    if url := env.get("COMMUNE_REPORTS_WEBHOOK_URL"):
        out.append(WebhookChannel(url=url))
    return out

"""Where alerts go: e-mail over SMTP and a generic webhook (JSON POST).

Configured from the environment (``COMMUNE_REPORTS_SMTP_*``, ``COMMUNE_REPORTS_WEBHOOK_URL``)
or, in Airflow, from the connections ``commune_reports_smtp`` and ``commune_reports_webhook``
(resolved by :mod:`commune_reports.airflow_support` into the same dataclasses).
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from commune_reports.redact import add_secret, mask, url_origin


class DeliveryError(RuntimeError):
    """A channel could not deliver: the alert is not recorded as sent and will be retried."""


def raise_failures(failures: list[str], what: str) -> None:
    """All of a step's failed deliveries as one error (the first five named): none was
    recorded as sent, so the next run tries them again."""
    if failures:
        raise DeliveryError(
            f"{len(failures)} {what} failed (not recorded, will be retried): "
            + "; ".join(failures[:5])
        )


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    payload: dict[str, Any]
    # mail headers beyond Subject, From and To (a reply's In-Reply-To, Auto-Submitted)
    headers: dict[str, str] = field(default_factory=dict)


TLS_MODES = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class SmtpChannel:
    """Mail through one SMTP server. ``tls`` is ``starttls`` (upgrade the connection, port 587
    or 25), ``ssl`` (TLS from the start, port 465) or ``none``; with TLS the server's
    certificate is verified (against ``ca_file`` when given, else the system's authorities).
    A login is refused over a connection that is not encrypted unless ``allow_plain_login``.
    """

    host: str
    port: int = 25
    sender: str = "commune-reports@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: str = "none"
    ca_file: str | None = None
    allow_plain_login: bool = False
    timeout: float = 30.0
    name: str = "email"

    def __post_init__(self) -> None:
        if self.tls not in TLS_MODES:
            raise ValueError(f"SMTP tls must be one of {', '.join(TLS_MODES)}, not {self.tls!r}")
        add_secret(self.password)

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def send(self, recipient: str, message: Message) -> None:
        if self.user and self.tls == "none" and not self.allow_plain_login:
            raise DeliveryError(
                f"SMTP {self.host}:{self.port}: refusing to send the password of {self.user} "
                "over an unencrypted connection; set tls to starttls or ssl "
                "(COMMUNE_REPORTS_SMTP_TLS), or allow it with "
                "COMMUNE_REPORTS_SMTP_ALLOW_PLAIN_LOGIN"
            )
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = recipient
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        try:
            if self.tls == "ssl":
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.tls == "starttls":
                    smtp.starttls(context=self._tls_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                mask(f"SMTP {self.host}:{self.port} to {recipient}: {_reason(exc)}")
            ) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login refused ({exc.smtp_code})"
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class WebhookChannel:
    """A JSON POST to one URL. The URL usually holds a token: messages name only its host."""

    url: str = field(repr=False)
    timeout: float = 30.0
    name: str = "webhook"

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        add_secret(parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else ""))

    @property
    def label(self) -> str:
        """The address to show and record: the origin, without the path or query."""
        return url_origin(self.url)

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
                    raise DeliveryError(f"webhook {self.label}: HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook {self.label}: HTTP {exc.code}") from exc
        except OSError as exc:  # URLError is an OSError
            reason = getattr(exc, "reason", None) or exc
            raise DeliveryError(mask(f"webhook {self.label}: {reason}")) from exc


Channel = SmtpChannel | WebhookChannel


def targets(channel: Channel, emails: list[str]) -> list[str]:
    """Whom ``channel`` delivers to, as recorded: the e-mail addresses, or the webhook's origin
    (its full URL holds the token and is never stored)."""
    return list(emails) if isinstance(channel, SmtpChannel) else [channel.label]


def recorded(channel: str, recipient: str) -> tuple[str, str]:
    """A recorded delivery as a key; webhook rows kept with a full URL count by its origin."""
    if channel == "webhook" and "://" in recipient:
        return channel, url_origin(recipient)
    return channel, recipient


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
                tls=smtp_tls(env.get("COMMUNE_REPORTS_SMTP_TLS"), env),
                ca_file=env.get("COMMUNE_REPORTS_SMTP_CA_FILE") or None,
                allow_plain_login=_yes(env.get("COMMUNE_REPORTS_SMTP_ALLOW_PLAIN_LOGIN")),
            )
        )
    if url := env.get("COMMUNE_REPORTS_WEBHOOK_URL"):
        out.append(WebhookChannel(url=url))
    return out


def _yes(value: object) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes"}


def smtp_tls(value: str | None, legacy: dict[str, Any] | None = None) -> str:
    """The TLS mode from a setting; the older ``starttls`` flag still means ``starttls``."""
    if value:
        return value.strip().lower()
    legacy = legacy or {}
    flag = legacy.get("COMMUNE_REPORTS_SMTP_STARTTLS", legacy.get("starttls"))
    return "starttls" if _yes(flag) else "none"

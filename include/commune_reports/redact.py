"""Secrets out of every message, log line and mail: passwords and tokens in URLs, the
configured passwords themselves, and webhook addresses (whose path is usually the token).

Everything that reaches a person or a log goes through :func:`mask`; the command line and the
alerts install :class:`MaskingFilter` on their log handlers.
"""

from __future__ import annotations

import logging
import os
import re
import urllib.parse

_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^@/\s]*@", re.I)
_QUERY_SECRET = re.compile(
    r"(?P<key>(?:password|passwd|pwd|token|secret|key|sig|signature|auth)=)[^&\s]+", re.I
)
# variables whose whole value is a secret, or a URL that carries one
SECRET_VARIABLES = (
    "COMMUNE_REPORTS_SMTP_PASSWORD",
    "COMMUNE_REPORTS_WEBHOOK_URL",
    "COMMUNE_REPORTS_WAREHOUSE_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API__SECRET_KEY",
)
_extra: set[str] = set()


def url_origin(url: str) -> str:
    """Where a URL points, without what may be a secret (user, password, path, query):
    ``https://hooks.example.vn/…``."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    rest = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def add_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (a password read from a connection)."""
    if value and len(value) >= 4:
        _extra.add(value)


def _secret_values() -> list[str]:
    values = set(_extra)
    for name in SECRET_VARIABLES:
        value = os.environ.get(name) or ""
        if not value:
            continue
        if "://" in value:
            parts = urllib.parse.urlsplit(value)
            if parts.password:
                values.add(parts.password)
                values.add(urllib.parse.unquote(parts.password))
            if name == "COMMUNE_REPORTS_WEBHOOK_URL" and (parts.path.strip("/") or parts.query):
                values.add(parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else ""))
        else:
            values.add(value)
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def mask(text: str) -> str:
    """``text`` with URL passwords, token parameters and the configured secrets as ``***``."""
    for value in _secret_values():
        text = text.replace(value, "***")
    text = _CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}***", text)


class MaskingFilter(logging.Filter):
    """A log filter that masks secrets in each record's message (and its traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

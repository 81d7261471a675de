"""Which sources a deployment reads, from the TOML file ``COMMUNE_REPORTS_SOURCES`` names.

Each ``[[source]]`` has a ``name`` (recorded in the ledger), a ``kind`` (``imap``, ``sftp``,
``object``) and the id of the Airflow connection holding its host and credentials
(``conn_id``); secrets are never in this file. Outside Airflow (the command line, the
tests) a connection id is read from ``AIRFLOW_CONN_<ID>``, in Airflow's URI or JSON form, as
Airflow itself reads connections from the environment.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from commune_reports.redact import add_secret

KINDS = ("imap", "sftp", "object")


class SourceConfigError(ValueError):
    """The sources file is wrong: one line saying where and how to fix it."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    conn_id: str = ""
    # imap: the folder read and the one handled messages are moved to
    folder: str = "INBOX"
    handled_folder: str = "Processed"
    # sftp: the drop folder and where taken files are moved ("" leaves them in place)
    path: str = ""
    handled_path: str = ""
    # object: the prefix, e.g. s3://bucket/forms/ or file:///srv/drop/
    url: str = ""
    # the address units write to: the Reply-To of the verdicts
    address: str = ""


def load_sources(path: str | os.PathLike[str] | None = None) -> list[SourceConfig]:
    """The configured sources (none when ``COMMUNE_REPORTS_SOURCES`` is unset)."""
    path = path if path is not None else os.environ.get("COMMUNE_REPORTS_SOURCES", "")
    if not path:
        return []
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SourceConfigError(f"sources file {file}: {exc}") from exc
    out: list[SourceConfig] = []
    allowed = set(SourceConfig.__dataclass_fields__)
    for i, entry in enumerate(data.get("source", []), start=1):
        where = f"sources file {file}, source {i}"
        unknown = set(entry) - allowed
        if unknown:
            raise SourceConfigError(f"{where}: unknown keys {sorted(unknown)}")
        if not entry.get("name") or entry.get("kind") not in KINDS:
            raise SourceConfigError(f"{where}: needs a name and a kind ({', '.join(KINDS)})")
        config = SourceConfig(**{k: str(v) for k, v in entry.items()})
        if config.kind in ("imap", "sftp") and not config.conn_id:
            raise SourceConfigError(f"{where} ({config.name}): needs conn_id")
        if config.kind == "sftp" and not config.path:
            raise SourceConfigError(f"{where} ({config.name}): needs the drop folder, path")
        if config.kind == "object" and not config.url:
            raise SourceConfigError(f"{where} ({config.name}): needs the prefix, url")
        if config.name in {c.name for c in out}:
            raise SourceConfigError(f"{where}: the name {config.name!r} is used twice")
        out.append(config)
    return out


@dataclass(frozen=True)
class ConnectionInfo:
    """What the sources need of a connection: Airflow's fields, nothing more."""

    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str = ""
    password: str = field(default="", repr=False)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        add_secret(self.password or None)


def connection_from_env(conn_id: str, env: dict[str, str] | None = None) -> ConnectionInfo:
    """``AIRFLOW_CONN_<CONN_ID>``: a URI (``imap://user:pass@host:993?use_ssl=true``) or
    JSON (``{"conn_type": ..., "host": ..., "extra": {...}}``), as Airflow reads it."""
    env = os.environ if env is None else env
    value = env.get(f"AIRFLOW_CONN_{conn_id.upper()}", "")
    if not value:
        raise SourceConfigError(
            f"connection {conn_id!r} not found: define it in Airflow, or outside Airflow set "
            f"AIRFLOW_CONN_{conn_id.upper()}"
        )
    if value.lstrip().startswith("{"):
        data = json.loads(value)
        extra = data.get("extra") or {}
        return ConnectionInfo(
            conn_type=data.get("conn_type", ""),
            host=data.get("host", ""),
            port=int(data["port"]) if data.get("port") else None,
            login=data.get("login", ""),
            password=data.get("password", ""),
            extra=json.loads(extra) if isinstance(extra, str) else dict(extra),
        )
    parts = urlsplit(value)
    extra: dict[str, Any] = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return ConnectionInfo(
        conn_type=parts.scheme,
        host=unquote(parts.hostname or ""),
        port=parts.port,
        login=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        extra=extra,
    )


def truthy(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}

"""Open the configured sources outside Airflow, from ``AIRFLOW_CONN_<ID>`` connections (in
Airflow, :func:`commune_reports.airflow_support.open_sources` opens them with the providers'
hooks: ``ImapHook``, ``SFTPHook``, ``ObjectStoragePath``).

Connection fields, as Airflow's providers read them:
- imap: host, port, login, password; extra ``use_ssl`` (default true);
- sftp: host, port, login, password or extra ``key_file`` / ``private_key``; the server's
  key is checked against extra ``host_key`` (``ssh-ed25519 AAAA...``) or the system's known
  hosts, unless extra ``no_host_key_check`` is true;
- object: extra holds the filesystem's options (e.g. ``key``, ``secret``, ``endpoint_url``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from commune_reports.intake.config import (
    ConnectionInfo,
    SourceConfig,
    connection_from_env,
    truthy,
)
from commune_reports.intake.drops import ObjectPrefix, SftpDrop
from commune_reports.intake.items import Source
from commune_reports.intake.mailbox import Mailbox, open_imap

Opener = Callable[[SourceConfig, contextlib.ExitStack], Source]


def open_from_env(config: SourceConfig, stack: contextlib.ExitStack) -> Source:
    """One source, its client closed with ``stack``."""
    if config.kind == "imap":
        info = connection_from_env(config.conn_id)
        client = open_imap(
            info.host, info.port, info.login, info.password, truthy(info.extra.get("use_ssl"), True)
        )
        stack.callback(_quietly, client.logout)
        return Mailbox(config.name, client, config.folder, config.handled_folder)
    if config.kind == "sftp":
        client = sftp_client(connection_from_env(config.conn_id), stack)
        return SftpDrop(config.name, client, config.path, config.handled_path)
    from upath import UPath

    options = connection_from_env(config.conn_id).extra if config.conn_id else {}
    return ObjectPrefix(config.name, UPath(config.url, **options))


def sftp_client(info: ConnectionInfo, stack: contextlib.ExitStack) -> Any:
    import paramiko

    ssh = paramiko.SSHClient()
    stack.callback(ssh.close)
    host_key = str(info.extra.get("host_key") or "").strip()
    if host_key:
        kind, _, blob = host_key.partition(" ")
        key = paramiko.PKey.from_type_string(kind, __import__("base64").b64decode(blob))
        name = info.host if not info.port or info.port == 22 else f"[{info.host}]:{info.port}"
        ssh.get_host_keys().add(name, kind, key)
    else:
        ssh.load_system_host_keys()
    if truthy(info.extra.get("no_host_key_check")):
        ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    else:
        ssh.set_missing_host_key_policy(paramiko.RejectPolicy())
    pkey = None
    if info.extra.get("private_key"):
        pkey = paramiko.Ed25519Key.from_private_key(io.StringIO(info.extra["private_key"]))
    ssh.connect(
        info.host,
        port=info.port or 22,
        username=info.login or None,
        password=info.password or None,
        pkey=pkey,
        key_filename=info.extra.get("key_file") or None,
        look_for_keys=False,
        allow_agent=False,
        timeout=30,
    )
    sftp = ssh.open_sftp()
    stack.callback(sftp.close)
    return sftp


def _quietly(close: Callable[[], Any]) -> None:
    with contextlib.suppress(Exception):
        close()


@contextlib.contextmanager
def opened(
    configs: Sequence[SourceConfig], opener: Opener = open_from_env
) -> Iterator[list[Source]]:
    """The sources, open for the block; every client closed after it."""
    with contextlib.ExitStack() as stack:
        yield [opener(config, stack) for config in configs]

"""Folders units upload to: an SFTP drop and an object-store prefix. Each file is an item.

The key is the file's path, modification time and size, so a file replaced under the same
name is a new delivery and the same file listed again is not. A file still being uploaded
(modified within the settle time and not a complete zip or OLE file) is left for the next run.
Receipt time: on SFTP, when the pipeline first sees the file (an SFTP client can set a file's
time, so the file's own time is not the server's); in an object store, the time the store
wrote the object (``LastModified``), which no client sets; first seen again for ``file://``
and ``sftp://`` prefixes, whose files' times a client can set.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import stat as stat_module
from collections.abc import Callable, Iterator
from typing import Any

from commune_reports.intake.items import Offered, classify
from commune_reports.sources import SETTLE_SECONDS, TAIL_BYTES, structurally_complete

log = logging.getLogger(__name__)
# protocols whose files' times a client can set: their receipt time is when first seen
CLIENT_SET_TIMES = ("file", "local", "", "sftp", "ssh")


def _hidden(name: str) -> bool:
    return name.startswith((".", "~$")) or name.endswith((".part", ".filepart", ".tmp"))


def _settled(data: bytes, modified: float, now: dt.datetime) -> bool:
    if now.timestamp() - modified >= SETTLE_SECONDS:
        return True
    return structurally_complete(data[:8], data[-TAIL_BYTES:], len(data))


def _offer(
    item: Offered,
    name: str,
    known: set[str],
    read: Callable[[], bytes],
    modified: float,
    size: int | None,
    now: dt.datetime,
) -> Offered | None:
    """One remote file as an item: found again (not read), refused (not a form), taken, or
    None while it is still being uploaded (its size not reached, or not settled)."""
    if item.key in known:
        item.again = True
        return item
    kind = classify(name)
    if kind != "form":
        item.refused.append((name, kind))
        return item
    data = read()
    if (size is not None and len(data) != size) or not _settled(data, modified, now):
        log.info("%s: still being uploaded, left for the next run", item.handle)
        return None
    item.files.append((name, data))
    return item


class SftpDrop:
    """The files of one folder on an SFTP server, through a paramiko ``SFTPClient`` (the
    package's own, or Airflow's ``SFTPHook().get_conn()``)."""

    kind = "sftp"

    def __init__(self, name: str, client: Any, path: str, handled_path: str = "") -> None:
        self.name, self.client = name, client
        self.path, self.handled_path = path, handled_path

    def offered(self, known: set[str], now: dt.datetime) -> Iterator[Offered]:
        for entry in sorted(self.client.listdir_attr(self.path), key=lambda e: e.filename):
            if not stat_module.S_ISREG(entry.st_mode or 0) or _hidden(entry.filename):
                continue
            remote = posixpath.join(self.path, entry.filename)
            key = f"{remote}@{int(entry.st_mtime or 0)}:{entry.st_size}"
            offered = _offer(
                Offered(key, self.kind, now, handle=remote),
                entry.filename,
                known,
                lambda remote=remote: self._read(remote),
                entry.st_mtime or 0,
                entry.st_size,
                now,
            )
            if offered is not None:
                yield offered

    def _read(self, remote: str) -> bytes:
        with self.client.open(remote, "rb") as handle:
            return handle.read()

    def done(self, items: list[Offered]) -> None:
        """Move the taken files to ``handled_path`` (left in place when it is empty)."""
        if not self.handled_path or not items:
            return
        try:
            self.client.stat(self.handled_path)
        except FileNotFoundError:
            self.client.mkdir(self.handled_path)
        for item in items:
            name = posixpath.basename(item.handle)
            target = posixpath.join(self.handled_path, name)
            try:
                self.client.stat(target)
                stem, dot, suffix = name.rpartition(".")
                stamp = item.received_at.strftime("%Y%m%dT%H%M%S")
                target = posixpath.join(
                    self.handled_path, f"{stem}.{stamp}.{suffix}" if dot else f"{name}.{stamp}"
                )
            except FileNotFoundError:
                pass
            self.client.rename(item.handle, target)


class ObjectPrefix:
    """The objects under one prefix, through a path of universal-pathlib's kind (Airflow's
    ``ObjectStoragePath`` in Airflow, with its connection; ``upath.UPath`` outside)."""

    kind = "object"

    def __init__(self, name: str, root: Any) -> None:
        self.name, self.root = name, root

    def offered(self, known: set[str], now: dt.datetime) -> Iterator[Offered]:
        for path in sorted(self.root.iterdir(), key=lambda p: str(p)):
            if _hidden(path.name):
                continue
            info = path.fs.info(path.path)
            if info.get("type") != "file":
                continue
            written = _written(info)
            key = f"{path.path}@{int(written.timestamp())}:{info.get('size')}"
            received = now if path.protocol in CLIENT_SET_TIMES else written
            offered = _offer(
                Offered(key, self.kind, received, handle=path),
                path.name,
                known,
                path.read_bytes,
                written.timestamp(),
                info.get("size"),
                now,
            )
            if offered is not None:
                yield offered

    def done(self, items: list[Offered]) -> None:
        """Objects stay where they are (buckets are often write-once for the units); their
        keys keep them from being taken twice."""


def _written(info: dict[str, Any]) -> dt.datetime:
    """When the store wrote the object: S3's LastModified, a file's mtime, GCS's updated."""
    for name in ("LastModified", "last_modified", "updated", "mtime", "created"):
        value = info.get(name)
        if value is None:
            continue
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt.datetime.now(dt.UTC)

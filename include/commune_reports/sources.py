"""Find files in the inbox, archive them content-addressed (never deleted) and register them.

The ledger key is the sha256 of the file's bytes: the same file delivered twice, under any
name, is one submission.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, text

from commune_reports.problems import Problem
from commune_reports.settings import Settings
from commune_reports.warehouse import utc_seconds, writing

log = logging.getLogger(__name__)
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv"}
# A file in an inbox folder modified less than this many seconds ago may still be being
# copied: it is picked up only once it is structurally complete (a zip or OLE file whose end
# is there) or has not changed for that long (a CSV file has no end marker).
SETTLE_SECONDS = float(os.environ.get("COMMUNE_REPORTS_SETTLE_SECONDS", "60"))
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\\]|(^|[\\/])\.\.")


@dataclass(frozen=True)
class Registration:
    path: Path
    submission_id: str
    status: str  # new | duplicate


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(paths: list[Path], now: float | None = None) -> list[Path]:
    """Spreadsheet files under the given files or folders, sorted. In folders, hidden files
    and Office lock files are skipped, and so are symbolic links (an inbox file must be a file
    that was delivered, never a pointer elsewhere on the server) and files still arriving."""
    found: list[Path] = []
    now = time.time() if now is None else now
    for path in paths:
        if path.is_dir():
            found += _scan(path, now)
        elif path.is_file():
            found.append(path)
    return sorted(set(found))


def _scan(folder: Path, now: float) -> list[Path]:
    out: list[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith((".", "~$")):
                continue
            if entry.is_symlink():
                log.warning("skipped symbolic link in the inbox: %r", entry.path)
                continue
            if entry.is_dir(follow_symlinks=False):
                out += _scan(Path(entry.path), now)
            elif (
                entry.is_file(follow_symlinks=False)
                and os.path.splitext(entry.name)[1].lower() in SPREADSHEET_SUFFIXES
                and arrived(Path(entry.path), now, stat=entry.stat(follow_symlinks=False))
            ):
                out.append(Path(entry.path))
    return out


def arrived(
    path: Path, now: float, settle: float | None = None, stat: os.stat_result | None = None
) -> bool:
    """Is the file complete? Unchanged for ``settle`` seconds, or a zip (xlsx, ods) or OLE
    (xls) file whose structure ends where the file ends. A file still being copied is left in
    the inbox for the next run; a file that stays broken is read then, and rejected."""
    settle = SETTLE_SECONDS if settle is None else settle
    stat = stat or path.stat()
    if now - stat.st_mtime >= settle:
        return True
    with path.open("rb") as handle:
        head = handle.read(8)
        if head.startswith(b"PK"):
            handle.seek(max(0, stat.st_size - 65_557))  # end record + the longest comment
            tail = handle.read()
            end = tail.rfind(b"PK\x05\x06")
            complete = end >= 0 and end + 22 + int.from_bytes(
                tail[end + 20 : end + 22], "little"
            ) == len(tail)
        elif head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            complete = stat.st_size % 512 == 0 and stat.st_size >= 1536
        else:
            complete = False
    if not complete:
        log.info("not yet complete, left for the next run: %s", path)
    return complete


def unsafe_name_problem(name: str) -> Problem | None:
    """A problem for a delivered name with control characters or a path in it ("..\\x")."""
    if not _UNSAFE_NAME.search(name):
        return None
    return Problem(
        stage="parse",
        rule="unsafe_file_name",
        message_vi="tên tệp chứa ký tự điều khiển hoặc đường dẫn ('..', '\\'): đổi tên tệp "
        "theo mẫu <mã đơn vị>_<mã kỳ>.xlsx (ví dụ 30052_2023Q4.xlsx) rồi gửi lại",
        message_en="the file name holds control characters or a path ('..', '\\'): rename it "
        "as <unit code>_<period code>.xlsx (e.g. 30052_2023Q4.xlsx) and send it again",
        found=repr(name),
    )


def archive_path(settings: Settings, digest: str, suffix: str) -> Path:
    return settings.archive / digest[:2] / f"{digest}{suffix.lower()}"


_KNOWN = text("SELECT submission_id FROM submissions WHERE submission_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


def _known(conn: Connection, digests: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(digests), 500):
        known |= set(conn.execute(_KNOWN, {"ids": digests[start : start + 500]}).scalars())
    return known


def _archive(settings: Settings, path: Path, digest: str) -> Path | None:
    """Copy a file into the archive under its hash, hashing the copy as it is written: if the
    bytes no longer match (the file changed since it was hashed), nothing is archived. The copy
    goes to a name of its own and is renamed into place, so runs archiving the same file at
    once each leave the same complete file."""
    target = archive_path(settings, digest, path.suffix)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    check = hashlib.sha256()
    try:
        with path.open("rb") as source, tmp.open("wb") as out:
            for block in iter(lambda: source.read(1 << 20), b""):
                check.update(block)
                out.write(block)
        if check.hexdigest() != digest:
            log.warning("changed while being read, left for the next run: %s", path)
            return None
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def register_files(
    engine: Engine,
    settings: Settings,
    files: list[Path],
    batch_id: str,
    inbox_period: str | None,
    now: dt.datetime,
) -> list[Registration]:
    """Archive and record each file not yet in the ledger; report the others as duplicates.

    Files are hashed and archived outside any transaction; the ledger is checked again and
    written under the writers' lock, so two runs registering the same files at once record
    each file once (the other run calls it a duplicate)."""
    hashed = [(path, sha256_of(path), path.stat()) for path in files]
    digests = [d for _, d, _ in hashed]
    with engine.connect() as conn:
        known = _known(conn, digests)
    archived = {
        digest: target
        for path, digest, _ in hashed
        if digest not in known and (target := _archive(settings, path, digest)) is not None
    }
    out: list[Registration] = []
    rows = []
    with writing(engine) as conn:
        known = _known(conn, digests)
        for path, digest, stat in hashed:
            if digest in known:
                out.append(Registration(path, digest, "duplicate"))
                continue
            if digest not in archived:
                continue  # changed while being archived: the next run takes it
            known.add(digest)
            received = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
            rows.append(
                {
                    "submission_id": digest,
                    "original_name": path.name,
                    "inbox_path": str(path),
                    "archive_path": str(archived[digest]),
                    "size_bytes": stat.st_size,
                    "received_at": utc_seconds(received),
                    "registered_at": utc_seconds(now),
                    "batch_id": batch_id,
                    "inbox_period": inbox_period,
                    "status": "received",
                }
            )
            out.append(Registration(path, digest, "new"))
        if rows:
            cols = list(rows[0])
            conn.execute(
                text(
                    f"INSERT INTO submissions ({', '.join(cols)}) "
                    f"VALUES ({', '.join(':' + c for c in cols)})"
                ),
                rows,
            )
    return out


UNFINISHED = ("received", "parsed", "validated")


def claim_pending(engine: Engine, batch_id: str, periods: list[str]) -> int:
    """Move the unfinished submissions of ``periods`` into this batch, whoever left them: an
    earlier run that stopped midway, or one still running (every stage changes a submission's
    status only from the status it read, so two runs never both apply the same step)."""
    sql = text(
        "UPDATE submissions SET batch_id = :batch WHERE status IN :unfinished "
        "AND batch_id <> :batch AND (inbox_period IN :periods "
        "OR (inbox_period IS NULL AND period_code IN :periods))"
    ).bindparams(bindparam("unfinished", expanding=True), bindparam("periods", expanding=True))
    with writing(engine) as conn:
        return conn.execute(
            sql, {"batch": batch_id, "unfinished": list(UNFINISHED), "periods": list(periods)}
        ).rowcount

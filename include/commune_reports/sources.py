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
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, text

from commune_reports import ledger
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
    # new | duplicate (its earlier delivery reached a final status) | resumed (an earlier
    # delivery stopped midway: taken over by this batch) | in_progress (another run has it) |
    # changed (the file changed while it was being archived: left for the next run)
    status: str
    earlier_status: str | None = None  # the status of the earlier delivery of the same bytes


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason)


SKIP_REASONS = {
    "still_arriving": (
        "tệp đang được chép vào (chưa đầy đủ): sẽ được nhận ở lần chạy sau",
        "the file is still being copied in (not complete yet): it is taken by the next run",
    ),
    "symbolic_link": (
        "liên kết tượng trưng, không phải tệp được gửi: bỏ qua",
        "a symbolic link, not a delivered file: skipped",
    ),
    "not_a_form_file": (
        "không phải tệp bảng tính (.xlsx, .xls, .ods, .csv): bỏ qua",
        "not a spreadsheet file (.xlsx, .xls, .ods, .csv): skipped",
    ),
    "hidden_or_lock_file": (
        "tệp ẩn hoặc tệp khóa của Office: bỏ qua",
        "a hidden file or an Office lock file: skipped",
    ),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan(paths: list[Path], now: float | None = None) -> Scan:
    """Spreadsheet files under the given files or folders, sorted, and what was passed over
    with the reason. In folders, hidden files and Office lock files are passed over, and so
    are symbolic links (an inbox file must be a file that was delivered, never a pointer
    elsewhere on the server) and files still arriving; a file named explicitly is taken."""
    found = Scan()
    now = time.time() if now is None else now
    for path in paths:
        if path.is_dir():
            _scan(path, now, found)
        elif path.is_file():
            found.files.append(path)
    found.files = sorted(set(found.files))
    return found


def list_files(paths: list[Path], now: float | None = None) -> list[Path]:
    """The files :func:`scan` takes (what it passes over is logged)."""
    found = scan(paths, now)
    for path, reason in found.skipped:
        if reason in ("still_arriving", "symbolic_link"):
            log.info("%s: %s", SKIP_REASONS[reason][1], path)
    return found.files


def _scan(folder: Path, now: float, found: Scan) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith((".", "~$")):
                found.skipped.append((path, "hidden_or_lock_file"))
            elif entry.is_symlink():
                found.skipped.append((path, "symbolic_link"))
            elif entry.is_dir(follow_symlinks=False):
                _scan(path, now, found)
            elif not entry.is_file(follow_symlinks=False):
                continue
            elif os.path.splitext(entry.name)[1].lower() not in SPREADSHEET_SUFFIXES:
                found.skipped.append((path, "not_a_form_file"))
            elif arrived(path, now, stat=entry.stat(follow_symlinks=False)):
                found.files.append(path)
            else:
                found.skipped.append((path, "still_arriving"))


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
        handle.seek(max(0, stat.st_size - TAIL_BYTES))
        return structurally_complete(head, handle.read(), stat.st_size)


TAIL_BYTES = 65_557  # a zip's end record and the longest comment


def structurally_complete(head: bytes, tail: bytes, size: int) -> bool:
    """A zip (xlsx, ods) whose end record ends the file, or an OLE file (xls) of whole
    sectors; ``tail`` is the file's last :data:`TAIL_BYTES` bytes (or all of it)."""
    if head.startswith(b"PK"):
        end = tail.rfind(b"PK\x05\x06")
        return end >= 0 and end + 22 + int.from_bytes(tail[end + 20 : end + 22], "little") == len(
            tail
        )
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return size % 512 == 0 and size >= 1536
    return False


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


def _known(conn: Connection, digests: list[str]) -> set[str]:
    return set(ledger.statuses(conn, digests))


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
    received_at: dt.datetime | None = None,
    resume: bool = False,
    via: str | None = None,
) -> list[Registration]:
    """Archive and record each file not yet in the ledger, received ``now`` (when the pipeline
    first sees it) or at the stated ``received_at``; the others are duplicates of an earlier
    delivery, or, with ``resume``, taken over when that delivery stopped midway.

    Files are hashed and archived outside any transaction; the ledger is checked again and
    written under the writers' lock, so two runs registering the same files at once record
    each file once. Files registered together arrive in the order of their modification
    times (their arrival order is unknown), after every file registered before. ``via``
    names a remote source's kind (imap, sftp, object), whose receipt time is stated."""
    hashed = [(path, sha256_of(path), path.stat()) for path in files]
    digests = [d for _, d, _ in hashed]
    with engine.connect() as conn:
        known = _known(conn, digests)
    archived = {
        digest: target
        for path, digest, _ in hashed
        if digest not in known and (target := _archive(settings, path, digest)) is not None
    }
    source = via
    via = via or ("stated" if received_at is not None else ("inbox" if inbox_period else "ingest"))
    out: list[Registration] = []
    rows = []
    with writing(engine) as conn:
        earlier = ledger.statuses(conn, digests)
        seq = conn.execute(text("SELECT COALESCE(MAX(arrival_seq), 0) FROM submissions")).scalar()
        resumed = []
        taken: set[str] = set()  # the same bytes twice in this call: the first is the delivery
        for path, digest, stat in sorted(hashed, key=lambda h: (h[2].st_mtime, str(h[0]))):
            if digest in earlier or digest in taken:
                status = earlier.get(digest)
                if status in ledger.UNFINISHED and resume:
                    resumed.append(digest)
                    out.append(Registration(path, digest, "resumed", status))
                elif status in ledger.UNFINISHED:
                    out.append(Registration(path, digest, "in_progress", status))
                else:
                    out.append(Registration(path, digest, "duplicate", status))
                continue
            if digest not in archived:  # changed while being archived: the next run takes it
                out.append(Registration(path, digest, "changed"))
                continue
            seq += 1
            taken.add(digest)
            rows.append(
                {
                    "submission_id": digest,
                    "original_name": path.name,
                    "inbox_path": str(path),
                    "archive_path": str(archived[digest]),
                    "size_bytes": stat.st_size,
                    "received_at": utc_seconds(received_at or now),
                    "received_via": via,
                    "file_modified_at": utc_seconds(
                        dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
                    ),
                    "arrival_seq": seq,
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
            note = (
                f"received through {source}"
                if source
                else (f"first seen ({via})" if via != "stated" else "receipt time stated")
            )
            ledger.record(
                conn, [(r["submission_id"], None, "received", note) for r in rows], batch_id, now
            )
        if resumed:
            _claim(conn, batch_id, resumed)
    order = {path: i for i, path in enumerate(files)}
    return sorted(out, key=lambda r: order[r.path])


def _claim(conn: Connection, batch_id: str, ids: list[str]) -> int:
    """Move unfinished submissions into ``batch_id`` (their status stays as it is)."""
    stmt = text(
        "UPDATE submissions SET batch_id = :b WHERE submission_id IN :ids AND status IN :u"
    ).bindparams(bindparam("ids", expanding=True), bindparam("u", expanding=True))
    moved = 0
    for start in range(0, len(ids), 500):
        moved += conn.execute(
            stmt, {"b": batch_id, "ids": ids[start : start + 500], "u": list(ledger.UNFINISHED)}
        ).rowcount
    return moved


def claim_pending(engine: Engine, batch_id: str, periods: list[str]) -> int:
    """Move into this batch the unfinished submissions of ``periods``' inbox folders and every
    unfinished file ``ingest`` left, whoever left them: an earlier run that stopped midway, or
    one still running (every stage changes a submission's status only from the status it read,
    so two runs never both apply the same step)."""
    sql = text(
        "UPDATE submissions SET batch_id = :batch WHERE status IN :unfinished "
        "AND batch_id <> :batch AND (inbox_period IN :periods OR inbox_period IS NULL)"
    ).bindparams(bindparam("unfinished", expanding=True), bindparam("periods", expanding=True))
    with writing(engine) as conn:
        return conn.execute(
            sql,
            {"batch": batch_id, "unfinished": list(ledger.UNFINISHED), "periods": list(periods)},
        ).rowcount

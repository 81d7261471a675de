"""Find files in the inbox, archive them content-addressed (never deleted) and register them.

The ledger key is the sha256 of the file's bytes: the same file delivered twice, under any
name, is one submission.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from commune_reports.settings import Settings
from commune_reports.warehouse import utc_seconds

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv"}


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


def list_files(paths: list[Path]) -> list[Path]:
    """Spreadsheet files under the given files or folders, sorted, hidden files skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += [
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SPREADSHEET_SUFFIXES
                and not any(part.startswith((".", "~$")) for part in p.relative_to(path).parts)
            ]
        elif path.is_file():
            found.append(path)
    return sorted(set(found))


def archive_path(settings: Settings, digest: str, suffix: str) -> Path:
    return settings.archive / digest[:2] / f"{digest}{suffix.lower()}"


def register_files(
    engine: Engine,
    settings: Settings,
    files: list[Path],
    batch_id: str,
    inbox_period: str | None,
    now: dt.datetime,
) -> list[Registration]:
    """Archive and record each file not yet in the ledger; report the others as duplicates."""
    hashed = [(path, sha256_of(path)) for path in files]
    with engine.begin() as conn:
        known = set()
        digests = [d for _, d in hashed]
        for start in range(0, len(digests), 500):
            chunk = digests[start : start + 500]
            params = {f"d{i}": d for i, d in enumerate(chunk)}
            known |= set(
                conn.execute(
                    text(
                        "SELECT submission_id FROM submissions WHERE submission_id IN "
                        f"({', '.join(':' + k for k in params)})"
                    ),
                    params,
                ).scalars()
            )
        out: list[Registration] = []
        rows = []
        for path, digest in hashed:
            if digest in known:
                out.append(Registration(path, digest, "duplicate"))
                continue
            known.add(digest)
            target = archive_path(settings, digest, path.suffix)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(target.suffix + ".part")
                shutil.copyfile(path, tmp)
                tmp.replace(target)
            received = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            rows.append(
                {
                    "submission_id": digest,
                    "original_name": path.name,
                    "inbox_path": str(path),
                    "archive_path": str(target),
                    "size_bytes": path.stat().st_size,
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


def claim_pending(engine: Engine, batch_id: str, inbox_periods: list[str] | None) -> int:
    """Move unfinished submissions (an earlier run stopped midway) into this batch."""
    sql = (
        "UPDATE submissions SET batch_id = :batch WHERE status IN ('received', 'parsed', "
        "'validated') AND batch_id <> :batch"
    )
    params: dict[str, object] = {"batch": batch_id}
    if inbox_periods is not None:
        keys = {f"p{i}": p for i, p in enumerate(inbox_periods)}
        sql += f" AND inbox_period IN ({', '.join(':' + k for k in keys)})"
        params |= keys
    with engine.begin() as conn:
        return conn.execute(text(sql), params).rowcount

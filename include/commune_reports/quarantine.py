"""Put a copy of each rejected file in the quarantine folder with a feedback file beside it,
listing every problem (sheet, cell, value found, rule) in Vietnamese first, English second.

The archived original is never touched: quarantine is where officials look for what to fix.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, bindparam, text

from commune_reports.settings import Settings

_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_name(name: str) -> str:
    """A file name without path separators or control characters."""
    cleaned = _UNSAFE.sub("_", Path(name).name).strip("._")
    return cleaned or "file"


def feedback_text(name: str, problems: list[dict[str, str | None]]) -> str:
    """The feedback beside a quarantined file: what to fix, cell by cell, VI then EN."""
    lines = [f"Tệp {name} bị từ chối, chưa được tổng hợp. Cần sửa:", ""]
    for p in problems:
        where = "!".join(x for x in (p["sheet"], p["cell"]) if x) or "—"
        found = f" (giá trị: {p['found']})" if p["found"] else ""
        lines.append(f"- [{where}] {p['message_vi']}{found} [{p['rule']}]")
    lines += ["", f"File {name} was rejected and not loaded. To fix:", ""]
    for p in problems:
        where = "!".join(x for x in (p["sheet"], p["cell"]) if x) or "—"
        found = f" (found: {p['found']})" if p["found"] else ""
        lines.append(f"- [{where}] {p['message_en']}{found} [{p['rule']}]")
    return "\n".join(lines) + "\n"


def _write_atomically(target: Path, data: bytes) -> None:
    """Overlapping runs may quarantine the same file: each writes a name of its own, then
    renames it into place, so the file seen is always whole."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_bytes(data)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def quarantine_submissions(engine: Engine, settings: Settings, ids: Sequence[str]) -> list[Path]:
    """Copy the given rejected files to ``quarantine/<period>/`` with their feedback."""
    if not ids:
        return []
    subs, errors = [], {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            chunk = {"ids": list(ids[start : start + 500])}
            subs += conn.execute(
                text(
                    "SELECT submission_id, original_name, archive_path, "
                    "COALESCE(period_code, inbox_period) AS period FROM submissions "
                    "WHERE submission_id IN :ids AND status = 'rejected' ORDER BY submission_id"
                ).bindparams(bindparam("ids", expanding=True)),
                chunk,
            ).all()
            for r in conn.execute(
                text(
                    "SELECT submission_id, rule, sheet, cell, found, message_vi, message_en "
                    "FROM submission_errors WHERE submission_id IN :ids "
                    "ORDER BY submission_id, seq"
                ).bindparams(bindparam("ids", expanding=True)),
                chunk,
            ):
                errors.setdefault(r.submission_id, []).append(dict(r._mapping))
    written = []
    for sub in subs:
        folder = settings.quarantine / safe_name(sub.period or "unknown")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{sub.submission_id[:12]}_{safe_name(sub.original_name)}"
        _write_atomically(target, Path(sub.archive_path).read_bytes())
        feedback = feedback_text(sub.original_name, errors.get(sub.submission_id, []))
        _write_atomically(target.with_name(target.name + ".loi.txt"), feedback.encode("utf-8"))
        written.append(target)
    return written

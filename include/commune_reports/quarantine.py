"""Put a copy of each rejected file in the quarantine folder with a feedback file beside it,
listing every problem (sheet, cell, value found, rule) in Vietnamese first, English second.

The archived original is never touched: quarantine is where officials look for what to fix.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import Engine, text

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


def quarantine_batch(engine: Engine, settings: Settings, batch_id: str) -> list[Path]:
    """Copy the batch's rejected files to ``quarantine/<period>/`` with their feedback."""
    with engine.connect() as conn:
        subs = conn.execute(
            text(
                "SELECT submission_id, original_name, archive_path, "
                "COALESCE(period_code, inbox_period) AS period FROM submissions "
                "WHERE batch_id = :b AND status = 'rejected' ORDER BY submission_id"
            ),
            {"b": batch_id},
        ).all()
        errors: dict[str, list[dict]] = {}
        for r in conn.execute(
            text(
                "SELECT e.submission_id, e.rule, e.sheet, e.cell, e.found, e.message_vi, "
                "e.message_en FROM submission_errors AS e JOIN submissions AS s "
                "ON s.submission_id = e.submission_id WHERE s.batch_id = :b "
                "ORDER BY e.submission_id, e.seq"
            ),
            {"b": batch_id},
        ):
            errors.setdefault(r.submission_id, []).append(dict(r._mapping))
    written = []
    for sub in subs:
        folder = settings.quarantine / safe_name(sub.period or "unknown")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{sub.submission_id[:12]}_{safe_name(sub.original_name)}"
        target = folder / name
        shutil.copyfile(sub.archive_path, target)
        feedback = target.with_name(target.name + ".loi.txt")
        feedback.write_text(
            feedback_text(sub.original_name, errors.get(sub.submission_id, [])), "utf-8"
        )
        written.append(target)
    return written

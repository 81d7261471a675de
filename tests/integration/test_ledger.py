"""The ledger on SQLite and PostgreSQL: every received file archived unchanged under its hash
and never deleted; the same bytes under any name recorded and loaded once; the latest accepted
resubmission wins with history kept; a failed one leaves the accepted values in place."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sqlalchemy import text

from commune_reports.pipeline import ingest_paths
from commune_reports.sample_data import sample_values
from commune_reports.settings import load_settings
from commune_reports.template import write_form
from commune_reports.warehouse import get_engine

UNIT, PERIOD = "30052", "2023Q4"
BASE = dict(sample_values()[(UNIT, PERIOD)])


def _deliver(folder: Path, name: str, mtime: int, **changes: object) -> Path:
    path = write_form(UNIT, PERIOD, folder / name, BASE | changes)
    os.utime(path, (mtime, mtime))
    return path


def _facts(url: str) -> dict[str, float]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text("SELECT metric_code, value FROM facts WHERE unit_code = :u AND period_code = :p"),
            {"u": UNIT, "p": PERIOD},
        ).all()
    return {m: float(v) for m, v in rows}


def test_revisions_and_duplicates(warehouse: str, tmp_path: Path) -> None:
    settings = load_settings()
    first = _deliver(tmp_path / "a", f"{UNIT}_{PERIOD}.xlsx", 1_702_000_000, dialogue_sessions=2)
    same = tmp_path / "b" / "ban sao.xlsx"
    same.parent.mkdir()
    shutil.copyfile(first, same)
    corrected = _deliver(
        tmp_path / "c", f"{UNIT}_{PERIOD}.xlsx", 1_702_100_000, dialogue_sessions=5
    )
    failed = _deliver(tmp_path / "d", f"{UNIT}_{PERIOD}.xlsx", 1_702_200_000, dialogue_sessions=-1)

    assert [r["status"] for r in ingest_paths(settings, [first, same])] == ["accepted", "duplicate"]
    assert _facts(warehouse)["dialogue_sessions"] == 2
    assert ingest_paths(settings, [corrected])[0]["status"] == "accepted"
    assert _facts(warehouse)["dialogue_sessions"] == 5
    assert ingest_paths(settings, [failed])[0]["status"] == "rejected"
    assert _facts(warehouse)["dialogue_sessions"] == 5  # the accepted values stay
    assert ingest_paths(settings, [same])[0]["status"] == "duplicate"  # any later time too

    with get_engine(warehouse).connect() as conn:
        history = conn.execute(
            text(
                "SELECT submission_id, status, superseded_by, archive_path FROM submissions "
                "WHERE unit_code = :u AND period_code = :p ORDER BY arrival_seq"
            ),
            {"u": UNIT, "p": PERIOD},
        ).all()
        counted = conn.execute(
            text("SELECT COUNT(*) FROM facts WHERE unit_code = :u"), {"u": UNIT}
        ).scalar_one()
    assert [h.status for h in history] == ["superseded", "accepted", "rejected"]
    assert history[0].superseded_by == history[1].submission_id
    assert counted == len(BASE)  # loaded once, never added twice
    for row, source in zip(history, (first, corrected, failed), strict=True):
        archived = Path(row.archive_path)
        assert archived.read_bytes() == source.read_bytes()  # unchanged
        assert archived.stem == row.submission_id == hashlib.sha256(source.read_bytes()).hexdigest()


def test_latest_delivery_in_one_batch_wins_across_formats(warehouse: str, tmp_path: Path) -> None:
    """An .xlsx and a later corrected .csv of the same unit and period in one run."""
    from tests.corpus.make_corpus import grid, write_csv

    early = _deliver(tmp_path, f"{UNIT}_{PERIOD}.xlsx", 1_702_000_000, dialogue_sessions=2)
    late = tmp_path / f"{UNIT}_{PERIOD}.csv"
    write_csv(grid(UNIT, PERIOD, BASE | {"dialogue_sessions": 7}), late, "utf-8-sig")
    os.utime(late, (1_702_500_000, 1_702_500_000))
    results = ingest_paths(load_settings(), [late, early])
    assert {Path(r["file"]).suffix: r["status"] for r in results} == {
        ".xlsx": "superseded",  # valid, but the later delivery replaces it
        ".csv": "accepted",
    }
    assert _facts(warehouse)["dialogue_sessions"] == 7
    with get_engine(warehouse).connect() as conn:
        statuses = conn.execute(
            text("SELECT original_name, status FROM submissions ORDER BY arrival_seq")
        ).all()
    assert [s.status for s in statuses] == ["superseded", "accepted"]

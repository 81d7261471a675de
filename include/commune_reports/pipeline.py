"""Whole runs for the command line: the same stages, in the same order, as the DAG tasks."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from commune_reports import stages
from commune_reports.catalog import load_catalog
from commune_reports.ledger import FINAL, select_in
from commune_reports.periods import Period, parse_period
from commune_reports.settings import Settings
from commune_reports.warehouse import get_engine


def regimes_for(period_type: str) -> list[str]:
    """Regimes collected by a run of quarters or of years (yearly + evaluation)."""
    return [r.code for r in load_catalog().regimes.values() if r.period_type == period_type]


def run_periods(
    settings: Settings,
    periods: Sequence[Period],
    batch_id: str | None = None,
    opener: Any = None,
) -> dict[str, Any]:
    """Collect the remote sources' new items and the inbox folders of ``periods`` through
    every stage (what a DAG run does); ``opener`` opens the sources (Airflow's hooks in a
    task, else the environment's connections)."""
    batch_id = batch_id or f"cli-{uuid.uuid4().hex[:12]}"
    codes = [p.code for p in periods]
    regimes = sorted({r for p in periods for r in regimes_for(p.period_type)})
    from commune_reports.intake.take import IntakeError, take_configured

    try:
        taken: dict[str, Any] = take_configured(settings, batch_id, opener=opener)
    except IntakeError as exc:  # logged by the source; the inbox is still collected
        taken = {"errors": str(exc)}
    found = stages.discover(settings, batch_id, periods=periods)
    checked = _check(settings, found["chunks"], codes)
    loaded = stages.load_batch(settings, batch_id)
    stages.build_marts(settings, periods, regimes)
    completeness = stages.check_completeness(settings, periods, regimes)
    with get_engine(settings.warehouse_url).connect() as conn:
        # the state of the periods' files, whichever run did the work (this one counts above)
        files = dict(
            select_in(
                conn,
                "SELECT status, COUNT(*) FROM submissions WHERE inbox_period IN :ids "
                "GROUP BY status",
                codes,
            )
        )
    return {
        "batch_id": batch_id,
        **({"sources": taken} if taken else {}),
        "new": found["new"],
        "resumed": found["resumed"],
        "still_arriving": sum(why == "still_arriving" for _, why in found["skipped"]),
        "validated": checked["validated"],
        "rejected": checked["rejected"],
        "loaded": loaded,
        "files_by_status": files,
        "completeness": completeness,
    }


def _check(
    settings: Settings, chunks: Sequence[str], periods: Sequence[str] | None
) -> dict[str, int]:
    """Parse and validate the batch's chunks one after another (the DAG runs them at once)."""
    totals = {"parsed": 0, "validated": 0, "rejected": 0}
    for chunk in chunks:
        done = stages.check_chunk(settings, chunk, periods)
        for name in totals:
            totals[name] += done[name]
    return totals


def _problems(conn: Any, table: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Errors or warnings of the given submissions, in the order they were found."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in select_in(
        conn,
        "SELECT submission_id, seq, stage, rule, sheet, cell, metric_code, found, "
        f"message_vi, message_en FROM {table} WHERE submission_id IN :ids",
        ids,
    ):
        item = dict(r._mapping)
        out.setdefault(item.pop("submission_id"), []).append(item)
    for items in out.values():
        items.sort(key=lambda item: item.pop("seq"))
    return out


def ingest_paths(
    settings: Settings,
    paths: Sequence[Path],
    now: dt.datetime | None = None,
    received_at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Load files or folders now; one result per file given or found, with its status:

    - ``accepted``, ``rejected`` (with every error), ``superseded`` (valid, but a later
      delivery of the same unit and period is the one used): it reached a final status now,
      also when an earlier ``ingest`` or run had stopped midway on it;
    - ``duplicate``: the same bytes were delivered before and that delivery reached a final
      status (``earlier_status``);
    - ``in_progress``: another run is processing it; ``left_for_later``: still being copied,
      or changed while being read; ``skipped``: not a form file (with the ``reason``).

    ``received_at`` states the receipt time of historical files (recorded as stated)."""
    batch_id = f"ingest-{uuid.uuid4().hex[:12]}"
    found = stages.discover(settings, batch_id, paths=list(paths), now=now, received_at=received_at)
    _check(settings, found["chunks"], None)
    stages.load_batch(settings, batch_id)
    engine = get_engine(settings.warehouse_url)
    ids = [r.submission_id for r in found["registrations"]]
    with engine.connect() as conn:
        subs = {
            r.submission_id: r
            for r in select_in(
                conn,
                "SELECT submission_id, status, unit_code, period_code, regime "
                "FROM submissions WHERE submission_id IN :ids",
                ids,
            )
        }
        errors = _problems(conn, "submission_errors", ids)
        warnings = _problems(conn, "submission_warnings", ids)
    periods = {(s.regime, s.period_code) for s in subs.values() if s.regime and s.period_code}
    if periods:
        stages.build_marts(
            settings,
            sorted({parse_period(p) for _, p in periods}),
            sorted({r for r, _ in periods}),
        )
    results = []
    for reg in found["registrations"]:
        sub = subs.get(reg.submission_id)
        if reg.status == "changed":
            status, reason = "left_for_later", "changed_while_reading"
        elif reg.status == "duplicate":
            status, reason = "duplicate", None
        elif sub is not None and sub.status in FINAL:
            status, reason = sub.status, None
        else:
            status, reason = "in_progress", "another_run"
        mine = status in FINAL
        results.append(
            {
                "file": str(reg.path),
                "submission_id": reg.submission_id,
                "status": status,
                "reason": reason,
                "earlier_status": reg.earlier_status if status == "duplicate" else None,
                "unit": sub.unit_code if sub else None,
                "period": sub.period_code if sub else None,
                "errors": errors.get(reg.submission_id, []) if mine else [],
                "warnings": warnings.get(reg.submission_id, []) if mine else [],
            }
        )
    for path, why in found["skipped"]:
        results.append(
            {
                "file": str(path),
                "submission_id": None,
                "status": "left_for_later" if why == "still_arriving" else "skipped",
                "reason": why,
                "earlier_status": None,
                "unit": None,
                "period": None,
                "errors": [],
                "warnings": [],
            }
        )
    return results

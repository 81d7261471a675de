"""Whole runs for the command line: the same stages, in the same order, as the DAG tasks."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text

from commune_reports import stages
from commune_reports.catalog import load_catalog
from commune_reports.periods import Period
from commune_reports.settings import Settings
from commune_reports.warehouse import get_engine


def regimes_for(period_type: str) -> list[str]:
    """Regimes collected by a run of quarters or of years (yearly + evaluation)."""
    return [r.code for r in load_catalog().regimes.values() if r.period_type == period_type]


def run_periods(
    settings: Settings, periods: Sequence[Period], batch_id: str | None = None
) -> dict[str, Any]:
    """Collect the inbox folders of ``periods`` through every stage (what a DAG run does)."""
    batch_id = batch_id or f"cli-{uuid.uuid4().hex[:12]}"
    codes = [p.code for p in periods]
    regimes = sorted({r for p in periods for r in regimes_for(p.period_type)})
    found = stages.discover(settings, batch_id, periods=periods)
    checked = _check(settings, found["chunks"], codes)
    loaded = stages.load_batch(settings, batch_id)
    stages.build_marts(settings, periods, regimes)
    completeness = stages.check_completeness(settings, periods, regimes)
    return {
        "batch_id": batch_id,
        "new": found["new"],
        "resumed": found["resumed"],
        "validated": checked["validated"],
        "rejected": checked["rejected"],
        "loaded": loaded,
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
    for r in conn.execute(
        text(
            "SELECT submission_id, stage, rule, sheet, cell, metric_code, found, "
            f"message_vi, message_en FROM {table} WHERE submission_id IN :ids "
            "ORDER BY submission_id, seq"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": ids or [""]},
    ):
        item = dict(r._mapping)
        out.setdefault(item.pop("submission_id"), []).append(item)
    return out


def ingest_paths(
    settings: Settings, paths: Sequence[Path], now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Load files or folders now; one result per file: accepted, rejected or duplicate."""
    batch_id = f"ingest-{uuid.uuid4().hex[:12]}"
    found = stages.discover(settings, batch_id, paths=list(paths), now=now)
    _check(settings, found["chunks"], None)
    stages.load_batch(settings, batch_id)
    engine = get_engine(settings.warehouse_url)
    ids = [r.submission_id for r in found["registrations"]]
    with engine.connect() as conn:
        subs = {
            r.submission_id: r
            for r in conn.execute(
                text(
                    "SELECT submission_id, status, unit_code, period_code, regime "
                    "FROM submissions WHERE submission_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": ids or [""]},
            )
        }
        errors = _problems(conn, "submission_errors", ids)
        warnings = _problems(conn, "submission_warnings", ids)
    periods = {(s.regime, s.period_code) for s in subs.values() if s.regime and s.period_code}
    if periods:
        from commune_reports.periods import parse_period

        stages.build_marts(
            settings,
            sorted({parse_period(p) for _, p in periods}),
            sorted({r for r, _ in periods}),
        )
    results = []
    for reg in found["registrations"]:
        sub = subs[reg.submission_id]
        status = (
            "duplicate"
            if reg.status == "duplicate"
            else ("accepted" if sub.status == "accepted" else sub.status)
        )
        results.append(
            {
                "file": str(reg.path),
                "submission_id": reg.submission_id,
                "status": status,
                "unit": sub.unit_code,
                "period": sub.period_code,
                "errors": errors.get(reg.submission_id, []) if status != "duplicate" else [],
                "warnings": (warnings.get(reg.submission_id, []) if status != "duplicate" else []),
            }
        )
    return results

"""The pipeline's stages. Each reads what the previous one wrote (by batch id) and can be rerun
alone: discover -> parse -> validate -> load -> marts -> completeness -> report.

The DAG tasks and the command line call these same functions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Numeric, bindparam, text

from commune_reports import validate as validate_mod
from commune_reports.catalog import load_catalog
from commune_reports.periods import Period, parse_period
from commune_reports.problems import Problem
from commune_reports.quarantine import quarantine_batch
from commune_reports.settings import Settings
from commune_reports.sources import (
    claim_pending,
    list_files,
    register_files,
    unsafe_name_problem,
)
from commune_reports.warehouse import (
    ensure_schema,
    get_engine,
    refresh_marts,
    register_periods,
)
from commune_reports.workers import parse_files

log = logging.getLogger(__name__)
NUMBER = Numeric(18, 4, asdecimal=True)


def _ids(conn: Connection, batch_id: str, status: str) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT submission_id FROM submissions WHERE batch_id = :b AND status = :s "
                "ORDER BY received_at, submission_id"
            ),
            {"b": batch_id, "s": status},
        ).scalars()
    )


def _record_problems(conn: Connection, problems: dict[str, list[Problem]]) -> None:
    """Store problems (numbered after any already stored) and mark those submissions rejected."""
    rows = []
    for sid, items in problems.items():
        start = conn.execute(
            text("SELECT COALESCE(MAX(seq), 0) FROM submission_errors WHERE submission_id = :s"),
            {"s": sid},
        ).scalar_one()
        for offset, p in enumerate(items, start=1):
            rows.append({"submission_id": sid, "seq": start + offset, **p.as_dict()})
    if rows:
        conn.execute(
            text(
                "INSERT INTO submission_errors (submission_id, seq, stage, rule, sheet, cell, "
                "metric_code, found, message_vi, message_en) VALUES (:submission_id, :seq, "
                ":stage, :rule, :sheet, :cell, :metric_code, :found, :message_vi, :message_en)"
            ),
            rows,
        )
        conn.execute(
            text(
                "UPDATE submissions SET status = 'rejected', error_count = :n "
                "WHERE submission_id = :s"
            ),
            [{"s": sid, "n": len(items)} for sid, items in problems.items()],
        )


def discover(
    settings: Settings,
    batch_id: str,
    periods: Sequence[Period] | None = None,
    paths: Sequence[Path] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Register new files (from the inbox folders of ``periods`` or from ``paths``) under
    ``batch_id`` and claim unfinished ones; return counts and the per-file registrations."""
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    now = now or dt.datetime.now(dt.UTC)
    registrations = []
    if paths is not None:
        registrations += register_files(
            engine, settings, list_files(list(paths)), batch_id, None, now
        )
        claimed = 0
    else:
        codes = [p.code for p in periods or []]
        for code in codes:
            folder = settings.inbox / code
            files = list_files([folder]) if folder.is_dir() else []
            registrations += register_files(engine, settings, files, batch_id, code, now)
        claimed = claim_pending(engine, batch_id, codes) if codes else 0
    new = sum(r.status == "new" for r in registrations)
    log.info(
        "batch %s: %d new files, %d duplicates, %d resumed",
        batch_id,
        new,
        len(registrations) - new,
        claimed,
    )
    return {"batch_id": batch_id, "new": new, "resumed": claimed, "registrations": registrations}


def parse_batch(settings: Settings, batch_id: str) -> int:
    """Parse every received file of the batch in the pool of limited worker processes (always:
    a hostile file can only kill the worker holding it) and stage its values; a file that
    cannot be read is rejected with the reason, and what was noted but loaded is kept as
    warnings."""
    engine = get_engine(settings.warehouse_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT submission_id, archive_path, original_name FROM submissions "
                "WHERE batch_id = :b AND status = 'received' ORDER BY submission_id"
            ),
            {"b": batch_id},
        ).all()
    forms, stats = parse_files([(r.archive_path, r.original_name) for r in rows])
    if stats.crashed or stats.timed_out:
        log.warning(
            "batch %s: %d parse workers crashed, %d timed out (files quarantined)",
            batch_id,
            stats.crashed,
            stats.timed_out,
        )
    values, headers, problems, warnings = [], [], {}, []
    for row, form in zip(rows, forms, strict=True):
        sid = row.submission_id
        headers.append(
            {
                "s": sid,
                "unit_code": form.unit_code,
                "unit_key": form.unit_key,
                "regime": form.regime,
                "period_code": form.period_code,
                "sheet": form.sheet,
            }
        )
        for v in form.values:
            values.append(
                {
                    "submission_id": sid,
                    "sheet": form.sheet,
                    "cell": v.cell,
                    "metric_code": v.metric_code,
                    "raw_value": v.raw,
                    "value": v.value,
                }
            )
        found = list(form.problems)
        if (unsafe := unsafe_name_problem(row.original_name)) is not None:
            found.insert(0, unsafe)
        if found:
            problems[sid] = found
        warnings += [
            {"submission_id": sid, "seq": n, **w.as_dict()}
            for n, w in enumerate(form.warnings, start=1)
        ]
    with engine.begin() as conn:
        if headers:
            conn.execute(
                text(
                    "UPDATE submissions SET unit_code = :unit_code, unit_key = :unit_key, "
                    "regime = :regime, period_code = :period_code, sheet = :sheet, "
                    "status = 'parsed' WHERE submission_id = :s"
                ),
                headers,
            )
        # a resumed batch may have staged some values already: replace, never add twice
        ids = [h["s"] for h in headers]
        for start in range(0, len(ids), 500):
            for table in ("submission_values", "submission_warnings"):
                conn.execute(
                    text(f"DELETE FROM {table} WHERE submission_id IN :ids").bindparams(
                        bindparam("ids", expanding=True)
                    ),
                    {"ids": ids[start : start + 500]},
                )
        if values:
            conn.execute(
                text(
                    "INSERT INTO submission_values (submission_id, sheet, cell, metric_code, "
                    "raw_value, value) VALUES (:submission_id, :sheet, :cell, :metric_code, "
                    ":raw_value, :value)"
                ).bindparams(bindparam("value", type_=NUMBER)),
                values,
            )
        if warnings:
            conn.execute(
                text(
                    "INSERT INTO submission_warnings (submission_id, seq, stage, rule, sheet, "
                    "cell, metric_code, found, message_vi, message_en) VALUES (:submission_id, "
                    ":seq, :stage, :rule, :sheet, :cell, :metric_code, :found, :message_vi, "
                    ":message_en)"
                ),
                warnings,
            )
        _record_problems(conn, problems)
    return len(rows)


def validate_batch(
    settings: Settings, batch_id: str, run_periods: Sequence[str] | None = None
) -> dict[str, int]:
    """Validate every parsed submission of the batch at once; reject failing files whole."""
    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    with engine.connect() as conn:
        subs = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT submission_id, unit_code, unit_key, regime, period_code, sheet "
                    "FROM submissions WHERE batch_id = :b AND status = 'parsed' "
                    "ORDER BY submission_id"
                ),
                {"b": batch_id},
            )
        ]
        values = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    "SELECT v.submission_id, v.sheet, v.cell, v.metric_code, v.value "
                    "FROM submission_values AS v JOIN submissions AS s "
                    "ON s.submission_id = v.submission_id "
                    "WHERE s.batch_id = :b AND s.status = 'parsed' "
                    "ORDER BY v.submission_id, v.cell"
                ),
                {"b": batch_id},
            )
        ]
    if not subs:
        quarantine_batch(engine, settings, batch_id)  # files rejected while parsing
        return {"validated": 0, "rejected": 0}
    long, wide = validate_mod.build_frames(subs, values, catalog)
    forms = validate_mod.form_sets(subs, catalog)
    periods = list(run_periods) if run_periods else None
    failures = validate_mod.run_suites(long, wide, forms, periods)
    problems = validate_mod.problems_from_failures(failures, long, wide, periods)
    with engine.begin() as conn:
        _record_problems(conn, problems)
        conn.execute(
            text(
                "UPDATE submissions SET status = 'validated' "
                "WHERE batch_id = :b AND status = 'parsed'"
            ),
            {"b": batch_id},
        )
    quarantine_batch(engine, settings, batch_id)
    return {"validated": len(subs) - len(problems), "rejected": len(problems)}


def load_batch(settings: Settings, batch_id: str) -> int:
    """Load validated submissions into facts, one transaction for the batch: for each unit and
    period the latest delivery replaces earlier values (delete + insert), older ones are marked
    superseded. A rerun finds nothing validated and changes nothing."""
    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    with engine.begin() as conn:
        subs = conn.execute(
            text(
                "SELECT submission_id, unit_code, regime, period_code, received_at "
                "FROM submissions WHERE batch_id = :b AND status = 'validated' "
                "ORDER BY received_at, submission_id"
            ),
            {"b": batch_id},
        ).all()
        if not subs:
            return 0
        register_periods(conn, {(s.regime, parse_period(s.period_code)) for s in subs}, catalog)
        latest: dict[tuple[str, str, str], Any] = {}
        for s in subs:
            latest[(s.unit_code, s.regime, s.period_code)] = s  # later received wins
        winners = list(latest.values())
        losers = [s for s in subs if latest[(s.unit_code, s.regime, s.period_code)] is not s]
        keys = [
            {"u": s.unit_code, "r": s.regime, "p": s.period_code, "s": s.submission_id}
            for s in winners
        ]
        conn.execute(
            text(
                "UPDATE submissions SET status = 'superseded', superseded_by = :s "
                "WHERE unit_code = :u AND regime = :r AND period_code = :p "
                "AND status = 'accepted'"
            ),
            keys,
        )
        conn.execute(
            text("DELETE FROM facts WHERE unit_code = :u AND regime = :r AND period_code = :p"),
            keys,
        )
        for start in range(0, len(winners), 500):
            chunk = [s.submission_id for s in winners[start : start + 500]]
            conn.execute(
                text(
                    "INSERT INTO facts (unit_code, regime, period_code, metric_code, unit_key, "
                    "value, submission_id, sheet, cell) "
                    "SELECT s.unit_code, s.regime, s.period_code, v.metric_code, s.unit_key, "
                    "v.value, s.submission_id, v.sheet, v.cell "
                    "FROM submission_values AS v JOIN submissions AS s "
                    "ON s.submission_id = v.submission_id WHERE s.submission_id IN :ids"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": chunk},
            )
        conn.execute(
            text("UPDATE submissions SET status = 'accepted' WHERE submission_id = :s"),
            keys,
        )
        if losers:
            conn.execute(
                text(
                    "UPDATE submissions SET status = 'superseded', superseded_by = :w "
                    "WHERE submission_id = :s"
                ),
                [
                    {
                        "s": s.submission_id,
                        "w": latest[(s.unit_code, s.regime, s.period_code)].submission_id,
                    }
                    for s in losers
                ],
            )
    return len(winners)


def build_marts(
    settings: Settings, periods: Sequence[Period] = (), regimes: Sequence[str] = ()
) -> None:
    """Register the run's periods (so completeness covers units that sent nothing) and rebuild
    every mart from the facts in one transaction."""
    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    with engine.begin() as conn:
        pairs = [
            (regime, p)
            for p in periods
            for regime in regimes
            if catalog.regimes[regime].period_type == p.period_type
        ]
        register_periods(conn, pairs, catalog)
        refresh_marts(conn)


def completeness_rows(
    engine: Engine, period_codes: Sequence[str], regimes: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Completeness of the given periods with unit names, for logs, reports and alerts."""
    sql = (
        "SELECT c.regime, c.period_code, c.unit_code, u.name, c.level, c.status, "
        "c.rejected_count FROM completeness AS c JOIN units AS u ON u.unit_key = c.unit_key "
        "WHERE c.period_code IN :periods"
    )
    params: dict[str, Any] = {"periods": list(period_codes)}
    if regimes:
        sql += " AND c.regime IN :regimes"
        params["regimes"] = list(regimes)
    stmt = text(sql + " ORDER BY c.regime, c.period_code, c.level, c.unit_code").bindparams(
        bindparam("periods", expanding=True)
    )
    if regimes:
        stmt = stmt.bindparams(bindparam("regimes", expanding=True))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt, params)]


def check_completeness(
    settings: Settings, periods: Sequence[Period], regimes: Sequence[str]
) -> dict[str, Any]:
    """Summarise who is missing or rejected-only for the run's periods (the marts computed it)."""
    rows = completeness_rows(get_engine(settings.warehouse_url), [p.code for p in periods], regimes)
    problems = [r for r in rows if r["status"] in ("missing", "rejected")]
    for r in problems:
        log.warning(
            "%s %s: %s %s (%s) — %s",
            r["regime"],
            r["period_code"],
            r["unit_code"],
            r["name"],
            r["level"],
            r["status"],
        )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {
        "expected": len(rows),
        "by_status": counts,
        # the completeness table has every unit; the XCom summary stays small
        "not_reported": [
            f"{r['unit_code']} {r['period_code']} {r['status']}" for r in problems[:100]
        ],
    }

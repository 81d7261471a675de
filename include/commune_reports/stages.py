"""The pipeline's stages. Each reads what the previous one wrote (by batch or chunk id) and can
be rerun alone: discover -> parse and validate (per chunk) -> load -> marts -> completeness.

A batch is split into chunks (``<batch id>#<k>/<n>``) so that its files can be parsed and
validated on several workers at once; a submission belongs to the chunk its hash falls in, so
chunks need no storage and a rerun finds the same ones. The DAG tasks and the command line call
these same functions.

Runs may overlap (backfills, the three DAGs), so every stage writes through
:func:`~commune_reports.warehouse.writing` and moves a submission only from the status it read
(received -> parsed -> validated -> accepted / rejected): when two runs hold the same file, the
first to finish a step applies it and the other skips that file.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Numeric, bindparam, text

from commune_reports.catalog import load_catalog
from commune_reports.periods import Period, parse_period
from commune_reports.problems import Problem
from commune_reports.quarantine import quarantine_submissions
from commune_reports.settings import Settings
from commune_reports.sources import (
    claim_pending,
    list_files,
    register_files,
    unsafe_name_problem,
)
from commune_reports.warehouse import (
    analyze,
    ensure_schema,
    get_engine,
    refresh_marts,
    register_periods,
    writing,
)

log = logging.getLogger(__name__)
NUMBER = Numeric(18, 4, asdecimal=True)
IN_LIST = 500  # ids per IN (...) list
# files per chunk: a chunk is parsed and validated by one task, so a national run spreads over
# the workers while a province's quarter (about 100 forms) stays one task
CHUNK_FILES = int(os.environ.get("COMMUNE_REPORTS_CHUNK_FILES", "5000"))


# -- chunks -------------------------------------------------------------------------------


def chunk_ids(batch_id: str, count: int) -> list[str]:
    return [f"{batch_id}#{k}/{count}" for k in range(max(1, count))]


def split_chunk(chunk: str) -> tuple[str, int, int]:
    """``"<batch>#k/n"`` -> (batch, k, n); a bare batch id is its one chunk."""
    batch_id, sep, part = chunk.rpartition("#")
    if not sep:
        return chunk, 0, 1
    k, n = part.split("/")
    return batch_id, int(k), int(n)


def in_chunk(submission_id: str, k: int, n: int) -> bool:
    return n == 1 or int(submission_id[:8], 16) % n == k


def _rows(conn: Connection, chunk: str, status: str, columns: str) -> list[Any]:
    """The chunk's submissions with ``status`` (the batch's, filtered by hash)."""
    batch_id, k, n = split_chunk(chunk)
    rows = conn.execute(
        text(
            f"SELECT submission_id, {columns} FROM submissions "
            "WHERE batch_id = :b AND status = :s ORDER BY submission_id"
        ),
        {"b": batch_id, "s": status},
    ).all()
    return [r for r in rows if in_chunk(r.submission_id, k, n)]


def _in(conn: Connection, sql: str, ids: Sequence[str], **params: Any) -> list[Any]:
    """Rows of ``sql`` (which has ``IN :ids``) for many ids, a few hundred at a time."""
    stmt = text(sql).bindparams(bindparam("ids", expanding=True))
    out: list[Any] = []
    for start in range(0, len(ids), IN_LIST):
        out += conn.execute(stmt, {**params, "ids": list(ids[start : start + IN_LIST])}).all()
    return out


def _still(conn: Connection, ids: Sequence[str], status: str) -> set[str]:
    """Which of ``ids`` still have ``status`` (inside a writing transaction: as they will be
    when it commits)."""
    sql = "SELECT submission_id FROM submissions WHERE status = :s AND submission_id IN :ids"
    return {r.submission_id for r in _in(conn, sql, ids, s=status)}


def _delete_for(conn: Connection, table: str, ids: Sequence[str]) -> None:
    stmt = text(f"DELETE FROM {table} WHERE submission_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    for start in range(0, len(ids), IN_LIST):
        conn.execute(stmt, {"ids": list(ids[start : start + IN_LIST])})


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


# -- discover -----------------------------------------------------------------------------


def discover(
    settings: Settings,
    batch_id: str,
    periods: Sequence[Period] | None = None,
    paths: Sequence[Path] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Register new files (from the inbox folders of ``periods`` or from ``paths``) under
    ``batch_id`` and claim unfinished ones of those periods; return counts, the per-file
    registrations and the batch's chunk ids."""
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    now = now or dt.datetime.now(dt.UTC)
    registrations = []
    claimed = 0
    if paths is not None:
        registrations += register_files(
            engine, settings, list_files(list(paths)), batch_id, None, now
        )
    else:
        codes = [p.code for p in periods or []]
        for code in codes:
            folder = settings.inbox / code
            files = list_files([folder]) if folder.is_dir() else []
            registrations += register_files(engine, settings, files, batch_id, code, now)
        claimed = claim_pending(engine, batch_id, codes) if codes else 0
    new = sum(r.status == "new" for r in registrations)
    with engine.connect() as conn:
        unfinished = conn.execute(
            text(
                "SELECT COUNT(*) FROM submissions WHERE batch_id = :b "
                "AND status IN ('received', 'parsed', 'validated')"
            ),
            {"b": batch_id},
        ).scalar_one()
    chunks = chunk_ids(batch_id, math.ceil(unfinished / max(1, CHUNK_FILES)))
    log.info(
        "batch %s: %d new files, %d duplicates, %d resumed; %d to process in %d chunks",
        batch_id,
        new,
        len(registrations) - new,
        claimed,
        unfinished,
        len(chunks),
    )
    return {
        "batch_id": batch_id,
        "new": new,
        "resumed": claimed,
        "registrations": registrations,
        "chunks": chunks,
    }


# -- parse and validate, per chunk --------------------------------------------------------


def parse_chunk(settings: Settings, chunk: str) -> int:
    """Parse every received file of the chunk in the pool of limited worker processes (always:
    a hostile file can only kill the worker holding it) and stage its values; a file that
    cannot be read is rejected with the reason, and what was noted but loaded is kept as
    warnings."""
    from commune_reports.workers import parse_files

    engine = get_engine(settings.warehouse_url)
    with engine.connect() as conn:
        rows = _rows(conn, chunk, "received", "archive_path, original_name")
    if not rows:
        return 0
    forms, stats = parse_files([(r.archive_path, r.original_name) for r in rows])
    if stats.crashed or stats.timed_out:
        log.warning(
            "chunk %s: %d parse workers crashed, %d timed out (files quarantined)",
            chunk,
            stats.crashed,
            stats.timed_out,
        )
    with writing(engine) as conn:
        mine = _still(conn, [r.submission_id for r in rows], "received")
        if len(mine) < len(rows):
            log.info("chunk %s: %d files parsed by another run", chunk, len(rows) - len(mine))
        headers, values, warnings, problems = [], [], [], {}
        for row, form in zip(rows, forms, strict=True):
            sid = row.submission_id
            if sid not in mine:
                continue
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
            values += [
                {
                    "submission_id": sid,
                    "sheet": form.sheet,
                    "cell": v.cell,
                    "metric_code": v.metric_code,
                    "raw_value": v.raw,
                    "value": v.value,
                }
                for v in form.values
            ]
            found = list(form.problems)
            if (unsafe := unsafe_name_problem(row.original_name)) is not None:
                found.insert(0, unsafe)
            if found:
                problems[sid] = found
            warnings += [
                {"submission_id": sid, "seq": n, **w.as_dict()}
                for n, w in enumerate(form.warnings, start=1)
            ]
        if not headers:
            return 0
        conn.execute(
            text(
                "UPDATE submissions SET unit_code = :unit_code, unit_key = :unit_key, "
                "regime = :regime, period_code = :period_code, sheet = :sheet, "
                "status = 'parsed' WHERE submission_id = :s AND status = 'received'"
            ),
            headers,
        )
        # an interrupted attempt may have staged some values already: replace, never add twice
        for table in ("submission_values", "submission_warnings"):
            _delete_for(conn, table, [h["s"] for h in headers])
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
        analyze(conn, ("submissions", "submission_values"), len(values))
    return len(headers)


def validate_chunk(
    settings: Settings, chunk: str, run_periods: Sequence[str] | None = None
) -> dict[str, int]:
    """Validate every parsed submission of the chunk at once (one Great Expectations run per
    frame); reject failing files whole; put the chunk's rejected files in quarantine."""
    from commune_reports import validate as validate_mod

    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    batch_id, k, n = split_chunk(chunk)
    with engine.connect() as conn:
        subs = [
            dict(r._mapping)
            for r in _rows(conn, chunk, "parsed", "unit_code, unit_key, regime, period_code, sheet")
        ]
        # one query for the batch's staged values, filtered here: cheaper than many IN lists
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
            if in_chunk(r.submission_id, k, n)
        ]
    checked = {"validated": 0, "rejected": 0}
    if subs:
        long, wide = validate_mod.build_frames(subs, values, catalog)
        forms = validate_mod.form_sets(subs, catalog)
        periods = list(run_periods) if run_periods else None
        failures = validate_mod.run_suites(long, wide, forms, periods)
        problems = validate_mod.problems_from_failures(failures, long, wide, periods)
        with writing(engine) as conn:
            mine = _still(conn, [s["submission_id"] for s in subs], "parsed")
            problems = {sid: p for sid, p in problems.items() if sid in mine}
            _record_problems(conn, problems)
            passed = sorted(mine - set(problems))
            stmt = text(
                "UPDATE submissions SET status = 'validated' "
                "WHERE status = 'parsed' AND submission_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            for start in range(0, len(passed), IN_LIST):
                conn.execute(stmt, {"ids": passed[start : start + IN_LIST]})
        checked = {"validated": len(passed), "rejected": len(problems)}
    with engine.connect() as conn:
        rejected = [r.submission_id for r in _rows(conn, chunk, "rejected", "status")]
    quarantine_submissions(engine, settings, rejected)
    return checked


def check_chunk(
    settings: Settings, chunk: str, run_periods: Sequence[str] | None = None
) -> dict[str, Any]:
    """Parse then validate one chunk (a DAG task, and each chunk of a command-line run).
    Great Expectations, a few seconds of imports, is loaded in the background while the parse
    workers read the files."""
    warm = threading.Thread(target=_import_validation, name="import-gx", daemon=True)
    warm.start()
    parsed = parse_chunk(settings, chunk)
    warm.join()
    return {"chunk": chunk, "parsed": parsed, **validate_chunk(settings, chunk, run_periods)}


def _import_validation() -> None:
    import great_expectations  # noqa: F401

    from commune_reports import validate  # noqa: F401


def parse_batch(settings: Settings, batch_id: str) -> int:
    """Parse every received file of the batch (as one chunk)."""
    return parse_chunk(settings, batch_id)


def validate_batch(
    settings: Settings, batch_id: str, run_periods: Sequence[str] | None = None
) -> dict[str, int]:
    """Validate every parsed submission of the batch (as one chunk)."""
    return validate_chunk(settings, batch_id, run_periods)


# -- load, marts, completeness ------------------------------------------------------------


def load_batch(settings: Settings, batch_id: str) -> int:
    """Load validated submissions into facts, one transaction for the batch: for each unit and
    period the latest delivery replaces earlier values (delete + insert), older ones are marked
    superseded. A rerun finds nothing validated and changes nothing."""
    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    with writing(engine) as conn:
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
        for start in range(0, len(winners), IN_LIST):
            chunk = [s.submission_id for s in winners[start : start + IN_LIST]]
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
        analyze(conn, ("submissions", "facts"), len(subs) * 10)
    return len(winners)


def build_marts(
    settings: Settings, periods: Sequence[Period] = (), regimes: Sequence[str] = ()
) -> None:
    """Register the run's periods (so completeness covers units that sent nothing) and rebuild
    every mart from the facts in one transaction."""
    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    with writing(engine) as conn:
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

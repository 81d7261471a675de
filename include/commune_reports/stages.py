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
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text

from commune_reports import ledger
from commune_reports.catalog import load_catalog
from commune_reports.periods import Period, parse_period
from commune_reports.problems import Problem
from commune_reports.quarantine import quarantine_submissions
from commune_reports.settings import Settings
from commune_reports.sources import (
    claim_pending,
    register_files,
    scan,
    unsafe_name_problem,
)
from commune_reports.warehouse import (
    ExactNumber,
    analyze,
    ensure_schema,
    get_engine,
    refresh_marts,
    register_periods,
    utc_seconds,
    writing,
)

log = logging.getLogger(__name__)
NUMBER = ExactNumber()
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


def _delete_for(conn: Connection, table: str, ids: Sequence[str]) -> None:
    stmt = text(f"DELETE FROM {table} WHERE submission_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    for start in range(0, len(ids), IN_LIST):
        conn.execute(stmt, {"ids": list(ids[start : start + IN_LIST])})


def _store_problems(conn: Connection, problems: dict[str, list[Problem]]) -> None:
    """Store problems, numbered after any already stored for the submission."""
    rows = []
    last = {
        r.submission_id: r.seq
        for r in ledger.select_in(
            conn,
            "SELECT submission_id, MAX(seq) AS seq FROM submission_errors "
            "WHERE submission_id IN :ids GROUP BY submission_id",
            sorted(problems),
        )
    }
    for sid, items in problems.items():
        for offset, p in enumerate(items, start=1):
            rows.append({"submission_id": sid, "seq": last.get(sid, 0) + offset, **p.as_dict()})
    if rows:
        conn.execute(
            text(
                "INSERT INTO submission_errors (submission_id, seq, stage, rule, sheet, cell, "
                "metric_code, found, message_vi, message_en) VALUES (:submission_id, :seq, "
                ":stage, :rule, :sheet, :cell, :metric_code, :found, :message_vi, :message_en)"
            ),
            rows,
        )


def _reject(
    conn: Connection,
    problems: dict[str, list[Problem]],
    before: str,
    actor: str,
    extra: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """Reject the submissions of ``problems`` that are still ``before``, with their problems."""
    ids = sorted(problems)
    moved = ledger.move(
        conn,
        ids,
        before,
        "rejected",
        actor,
        notes={sid: ", ".join(sorted({p.rule for p in problems[sid]})) for sid in ids},
        extra={
            sid: {**(extra or {}).get(sid, {}), "error_count": len(problems[sid])} for sid in ids
        },
    )
    _store_problems(conn, {sid: problems[sid] for sid in moved})
    ledger.owe_notices(conn, moved, "rejected")
    return moved


# -- discover -----------------------------------------------------------------------------


def discover(
    settings: Settings,
    batch_id: str,
    periods: Sequence[Period] | None = None,
    paths: Sequence[Path] | None = None,
    now: dt.datetime | None = None,
    received_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Register new files (from the inbox folders of ``periods`` or from ``paths``) under
    ``batch_id``, received ``now`` (when this discovery first sees them) unless a receipt time
    is stated; take over unfinished work: of those periods' folders and what ``ingest`` left
    (for inbox runs), or of the given files (for ``paths``). Return counts, the registrations,
    what was passed over, and the batch's chunk ids."""
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    now = now or dt.datetime.now(dt.UTC)
    registrations: list[Any] = []
    skipped: list[tuple[Path, str]] = []
    claimed = 0
    if paths is not None:
        found = scan(list(paths))
        skipped = found.skipped
        registrations += register_files(
            engine, settings, found.files, batch_id, None, now, received_at, resume=True
        )
        claimed = sum(r.status == "resumed" for r in registrations)
    else:
        codes = [p.code for p in periods or []]
        for code in codes:
            folder = settings.inbox / code
            found = scan([folder]) if folder.is_dir() else None
            if found is not None:
                skipped += found.skipped
                registrations += register_files(
                    engine, settings, found.files, batch_id, code, now, received_at
                )
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
    waiting = sum(reason == "still_arriving" for _, reason in skipped)
    log.info(
        "batch %s: %d new files, %d already received, %d resumed, %d still arriving; "
        "%d to process in %d chunks",
        batch_id,
        new,
        len(registrations) - new,
        claimed,
        waiting,
        unfinished,
        len(chunks),
    )
    return {
        "batch_id": batch_id,
        "new": new,
        "resumed": claimed,
        "registrations": registrations,
        "skipped": skipped,
        "chunks": chunks,
    }


def register_inbox(
    settings: Settings, periods: Sequence[Period], now: dt.datetime | None = None
) -> dict[str, Any]:
    """The light discovery: record the new files of the periods' inbox folders as received
    ``now``, and nothing else (no claims, no parsing), so that a file's receipt time is close to
    its arrival when this runs often in a submission window; the next collection run takes the
    files from there."""
    engine = get_engine(settings.warehouse_url)
    ensure_schema(engine)
    now = now or dt.datetime.now(dt.UTC)
    batch_id = f"discovery-{now:%Y%m%dT%H%M%S}-{os.getpid()}"
    out: dict[str, Any] = {"received_at": now.isoformat(), "new": 0, "still_arriving": 0}
    for period in periods:
        folder = settings.inbox / period.code
        if not folder.is_dir():
            continue
        found = scan([folder])
        registered = register_files(engine, settings, found.files, batch_id, period.code, now)
        out["new"] += sum(r.status == "new" for r in registered)
        out["still_arriving"] += sum(reason == "still_arriving" for _, reason in found.skipped)
    log.info("discovery %s: %s", batch_id, out)
    return out


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
    batch_id = split_chunk(chunk)[0]
    headers: dict[str, dict[str, Any]] = {}
    values: dict[str, list[dict[str, Any]]] = {}
    warnings: dict[str, list[dict[str, Any]]] = {}
    problems: dict[str, list[Problem]] = {}
    for row, form in zip(rows, forms, strict=True):
        sid = row.submission_id
        headers[sid] = {
            "unit_code": form.unit_code,
            "unit_key": form.unit_key,
            "regime": form.regime,
            "period_code": form.period_code,
            "sheet": form.sheet,
        }
        values[sid] = [
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
        warnings[sid] = [
            {"submission_id": sid, "seq": n, **w.as_dict()}
            for n, w in enumerate(form.warnings, start=1)
        ]
    # a file whose unit, period and sheet are known goes on to validation even with problems
    # in some cells: every rule runs on what was read, so its feedback lists everything at once
    # (validate_chunk rejects it with both); the others are rejected here
    carried = {sid: found for sid, found in problems.items() if _identified(headers[sid])}
    with writing(engine) as conn:
        ok = [sid for sid in headers if sid not in problems or sid in carried]
        moved = ledger.move(
            conn,
            ok,
            "received",
            "parsed",
            batch_id,
            notes={
                sid: "problems found while reading: validated before rejection" for sid in carried
            },
            extra=headers,
        )
        _delete_for(conn, "submission_errors", [sid for sid in moved if sid in carried])
        _store_problems(conn, {sid: carried[sid] for sid in moved if sid in carried})
        moved += _reject(
            conn,
            {sid: found for sid, found in problems.items() if sid not in carried},
            "received",
            batch_id,
            extra=headers,
        )
        if len(moved) < len(rows):
            log.info("chunk %s: %d files parsed by another run", chunk, len(rows) - len(moved))
        if not moved:
            return 0
        # an interrupted attempt may have staged some values already: replace, never add twice
        for table in ("submission_values", "submission_warnings"):
            _delete_for(conn, table, moved)
        staged = [v for sid in moved for v in values[sid]]
        if staged:
            conn.execute(
                text(
                    "INSERT INTO submission_values (submission_id, sheet, cell, metric_code, "
                    "raw_value, value) VALUES (:submission_id, :sheet, :cell, :metric_code, "
                    ":raw_value, :value)"
                ).bindparams(bindparam("value", type_=NUMBER)),
                staged,
            )
        noted = [w for sid in moved for w in warnings[sid]]
        if noted:
            conn.execute(
                text(
                    "INSERT INTO submission_warnings (submission_id, seq, stage, rule, sheet, "
                    "cell, metric_code, found, message_vi, message_en) VALUES (:submission_id, "
                    ":seq, :stage, :rule, :sheet, :cell, :metric_code, :found, :message_vi, "
                    ":message_en)"
                ),
                noted,
            )
        analyze(conn, ("submissions", "submission_values"), len(staged))
    return len(moved)


def _identified(header: dict[str, Any]) -> bool:
    """Is enough of the file known to validate it (its unit, regime, period and sheet)?"""
    return all(header.get(k) for k in ("unit_code", "unit_key", "regime", "period_code", "sheet"))


def _read_problems(conn: Connection, ids: Sequence[str]) -> dict[str, list[Problem]]:
    """The problems stored at parse for files carried on to validation."""
    out: dict[str, list[Problem]] = {}
    for r in ledger.select_in(
        conn,
        "SELECT submission_id, stage, rule, sheet, cell, metric_code, found, message_vi, "
        "message_en FROM submission_errors WHERE submission_id IN :ids "
        "ORDER BY submission_id, seq",
        list(ids),
    ):
        fields = dict(r._mapping)
        out.setdefault(fields.pop("submission_id"), []).append(Problem(**fields))
    return out


def validate_chunk(
    settings: Settings, chunk: str, run_periods: Sequence[str] | None = None
) -> dict[str, int]:
    """Validate every parsed submission of the chunk at once (one Great Expectations run per
    frame); reject failing files whole; put the chunk's rejected files in quarantine."""
    from commune_reports import validate as validate_mod

    started = time.perf_counter()
    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    batch_id, k, n = split_chunk(chunk)
    with engine.connect() as conn:
        subs = [
            dict(r._mapping)
            for r in _rows(
                conn,
                chunk,
                "parsed",
                "unit_code, unit_key, regime, period_code, sheet, inbox_period, original_name",
            )
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
        covered = [
            {
                "submission_id": s["submission_id"],
                "file": s["original_name"],
                "unit": s["unit_code"],
                "period": s["period_code"],
            }
            for s in subs
        ]
        meta = {
            "batch_id": batch_id,
            "chunk": chunk,
            "chunk_number": k,
            "chunk_count": n,
            "submissions": covered,
        }
        failures = validate_mod.run_suites(
            long, wide, forms, periods, keep=settings.validations, meta=meta
        )
        problems = validate_mod.problems_from_failures(failures, long, wide, periods)
        with writing(engine) as conn:
            # only files still parsed: one another run has just rejected keeps its problems
            current = ledger.statuses(conn, [s["submission_id"] for s in subs])
            read = _read_problems(conn, [sid for sid, st in current.items() if st == "parsed"])
            problems = validate_mod.with_parse_problems(read, problems)
            _delete_for(conn, "submission_errors", sorted(read))
            rejected = _reject(conn, problems, "parsed", batch_id)
            ok = [s["submission_id"] for s in subs if s["submission_id"] not in problems]
            passed = ledger.move(conn, ok, "parsed", "validated", batch_id)
        checked = {"validated": len(passed), "rejected": len(rejected)}
    with engine.connect() as conn:
        rejected = [r.submission_id for r in _rows(conn, chunk, "rejected", "status")]
    quarantine_submissions(engine, settings, rejected)
    log.info(
        "chunk %s: %d files validated, %d rejected in %.2f s",
        chunk,
        checked["validated"],
        checked["rejected"],
        time.perf_counter() - started,
    )
    return checked


def check_chunk(
    settings: Settings, chunk: str, run_periods: Sequence[str] | None = None
) -> dict[str, Any]:
    """Parse then validate one chunk (a DAG task, and each chunk of a command-line run).
    Great Expectations, a few seconds of imports, is loaded in the background while the parse
    workers read the files."""
    with get_engine(settings.warehouse_url).connect() as conn:
        work = _rows(conn, chunk, "received", "status") + _rows(conn, chunk, "parsed", "status")
    if not work:
        return {"chunk": chunk, "parsed": 0, "validated": 0, "rejected": 0}
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


LOAD_COLUMNS = (
    "submission_id, unit_code, regime, period_code, received_at, arrival_seq, "
    "file_modified_at, original_name, status"
)


def load_batch(settings: Settings, batch_id: str) -> int:
    """Load validated submissions into facts, one transaction for the batch.

    A delivery for a period the district has approved is held as a pending correction
    (:mod:`commune_reports.approvals`): it changes nothing until approved; one that breaks a
    blocking check is held until corrected or released (:mod:`commune_reports.holds`). The
    others are applied by :func:`apply_deliveries`. A rerun finds nothing validated and
    changes nothing."""
    from commune_reports.approvals import hold_corrections
    from commune_reports.holds import hold_blocked

    catalog = load_catalog()
    engine = get_engine(settings.warehouse_url)
    with writing(engine) as conn:
        subs = conn.execute(
            text(
                f"SELECT {LOAD_COLUMNS} FROM submissions "
                "WHERE batch_id = :b AND status = 'validated'"
            ),
            {"b": batch_id},
        ).all()
        if not subs:
            return 0
        register_periods(conn, {(s.regime, parse_period(s.period_code)) for s in subs}, catalog)
        to_load = hold_blocked(conn, hold_corrections(conn, subs, batch_id), batch_id, catalog)
        loaded = apply_deliveries(conn, to_load, batch_id)
        analyze(conn, ("submissions", "facts"), len(subs) * 10)
    return loaded


def apply_deliveries(conn: Connection, subs: Sequence[Any], actor: str) -> int:
    """Make validated deliveries (rows of :data:`LOAD_COLUMNS`) the facts where they win.

    For each unit and period the latest delivery wins, within the batch and across batches:
    latest by receipt time, ties broken by arrival order. The winner's values replace the
    facts (delete + insert) and every other delivery is marked superseded by it, including
    one that arrived before the delivery already accepted. A winner last modified before a
    delivery it replaces is flagged (``stale_revision``) for the unit and the district."""
    if not subs:
        return 0
    contenders: dict[tuple[str, str, str], list[Any]] = {}
    for s in subs:
        contenders.setdefault((s.unit_code, s.regime, s.period_code), []).append(s)
    for row in _accepted(conn, LOAD_COLUMNS, list(contenders)):
        contenders[(row.unit_code, row.regime, row.period_code)].append(row)
    winners, losers, stale = [], {}, []
    for group in contenders.values():
        group.sort(key=_arrival)
        # a held file never wins: a later delivery replaces it, an earlier one leaves it held
        standing = [g for g in group if g.status != "held"]
        if not standing:
            continue
        winner = standing[-1]
        before = group[: group.index(winner)]
        winners.append(winner)
        for other in before:
            losers[other.submission_id] = (other, winner)
        if winner.status == "validated" and (older := _stale(winner, before)):
            stale.append((winner, older))
    fresh = [w for w in winners if w.status == "validated"]
    keys = [
        {"u": w.unit_code, "r": w.regime, "p": w.period_code, "s": w.submission_id} for w in fresh
    ]
    for before in ("accepted", "validated", "held"):
        ids = [sid for sid, (other, _) in losers.items() if other.status == before]
        ledger.move(
            conn,
            ids,
            before,
            "superseded",
            actor,
            notes={sid: f"by {losers[sid][1].submission_id[:12]}" for sid in ids},
            extra={sid: {"superseded_by": losers[sid][1].submission_id} for sid in ids},
        )
    if keys:
        conn.execute(
            text("DELETE FROM facts WHERE unit_code = :u AND regime = :r AND period_code = :p"),
            keys,
        )
    for start in range(0, len(fresh), IN_LIST):
        chunk = [w.submission_id for w in fresh[start : start + IN_LIST]]
        conn.execute(
            text(
                "INSERT INTO facts (unit_code, regime, period_code, metric_code, unit_key, "
                "value, submission_id, sheet, cell, definition_version) "
                "SELECT s.unit_code, s.regime, s.period_code, v.metric_code, s.unit_key, "
                "v.value, s.submission_id, v.sheet, v.cell, COALESCE(d.version, 1) "
                "FROM submission_values AS v JOIN submissions AS s "
                "ON s.submission_id = v.submission_id "
                # the definition valid at the end of the period, recorded with the fact
                "LEFT JOIN periods AS p ON p.regime = s.regime AND p.period_code = s.period_code "
                "LEFT JOIN metric_definitions AS d ON d.metric_code = v.metric_code "
                "AND p.end_date >= d.valid_from AND p.end_date <= d.valid_to "
                "WHERE s.submission_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": chunk},
        )
    ledger.move(conn, [w.submission_id for w in fresh], "validated", "accepted", actor)
    _flag_stale(conn, stale)
    return len(fresh)


def _arrival(row: Any) -> tuple[Any, int]:
    """Order of deliveries: receipt time, then arrival order."""
    return (utc_seconds(_as_datetime(row.received_at)), row.arrival_seq or 0)


def _as_datetime(value: Any) -> dt.datetime:
    """A stored timestamp (a datetime from PostgreSQL, ISO text from SQLite), aware."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _accepted(conn: Connection, columns: str, keys: Sequence[tuple[str, str, str]]) -> list[Any]:
    """The deliveries currently accepted (or held: a later file replaces a held one) for these
    (unit, regime, period) keys: one query per
    regime and period (a batch has few), filtered by unit here."""
    wanted = set(keys)
    stmt = text(
        f"SELECT {columns} FROM submissions WHERE status IN ('accepted', 'held') "
        "AND regime = :r "
        "AND period_code = :p"
    )
    out = []
    for regime, period in sorted({(r, p) for _, r, p in keys}):
        out += [
            row
            for row in conn.execute(stmt, {"r": regime, "p": period})
            if (row.unit_code, regime, period) in wanted
        ]
    return out


def _stale(winner: Any, replaced: Sequence[Any]) -> Any | None:
    """The newest-modified delivery the winner replaces, if the winner's file was last
    modified before it (an old version sent again after a correction, say)."""
    if winner.file_modified_at is None:
        return None
    mine = _as_datetime(winner.file_modified_at)
    newer = [r for r in replaced if r.file_modified_at and _as_datetime(r.file_modified_at) > mine]
    return max(newer, key=lambda r: _as_datetime(r.file_modified_at)) if newer else None


def _flag_stale(conn: Connection, stale: Sequence[tuple[Any, Any]]) -> None:
    """A warning on each winner older (by file time) than what it replaced; the unit and the
    district are told of it (``alerts.send_file_notices``)."""
    if not stale:
        return
    last = {
        r.submission_id: r.seq
        for r in ledger.select_in(
            conn,
            "SELECT submission_id, MAX(seq) AS seq FROM submission_warnings "
            "WHERE submission_id IN :ids GROUP BY submission_id",
            [w.submission_id for w, _ in stale],
        )
    }
    rows = []
    for winner, older in stale:
        mine = _as_datetime(winner.file_modified_at).strftime("%d/%m/%Y %H:%M")
        theirs = _as_datetime(older.file_modified_at).strftime("%d/%m/%Y %H:%M")
        problem = Problem(
            stage="load",
            rule="stale_revision",
            message_vi=(
                f"tệp {winner.original_name} được gửi sau nhưng sửa lần cuối lúc {mine} (UTC), "
                f"trước tệp {older.original_name} mà nó thay thế (sửa lúc {theirs}): số liệu của "
                "tệp gửi sau được dùng; nếu đây là bản cũ gửi nhầm, hãy gửi lại bản đúng"
            ),
            message_en=(
                f"{winner.original_name} arrived later but was last modified at {mine} (UTC), "
                f"before {older.original_name}, which it replaces (modified {theirs}): the later "
                "delivery's figures are used; if it is an old version sent by mistake, send the "
                "right one again"
            ),
            found=older.submission_id,
        )
        seq = last.get(winner.submission_id, 0) + 1
        last[winner.submission_id] = seq
        rows.append({"submission_id": winner.submission_id, "seq": seq, **problem.as_dict()})
    conn.execute(
        text(
            "INSERT INTO submission_warnings (submission_id, seq, stage, rule, sheet, cell, "
            "metric_code, found, message_vi, message_en) VALUES (:submission_id, :seq, :stage, "
            ":rule, :sheet, :cell, :metric_code, :found, :message_vi, :message_en)"
        ),
        rows,
    )


def build_marts(
    settings: Settings, periods: Sequence[Period] = (), regimes: Sequence[str] = ()
) -> None:
    """Register the run's periods (so completeness covers units that sent nothing) and rebuild
    their marts (and those of periods changed since) from the facts in one transaction."""
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
        refresh_marts(conn, periods)


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

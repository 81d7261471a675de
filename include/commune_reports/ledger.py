"""The ledger's status changes, each kept in ``submission_events`` with what made it, when,
from and to: received -> parsed -> validated -> accepted | rejected; accepted -> superseded.

A change is applied only to submissions still in the status it starts from (read inside the
writing transaction), so when two runs hold the same file the first to finish a step applies
it and the other's attempt changes nothing and records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

from commune_reports.warehouse import utc_seconds

UNFINISHED = ("received", "parsed", "validated")
# final for the pipeline; a pending correction waits for the district's decision (approvals)
FINAL = ("accepted", "rejected", "superseded", "pending_correction", "declined", "held")
IN_LIST = 500


def select_in(conn: Connection, sql: str, ids: Sequence[str], **params: Any) -> list[Any]:
    """Rows of ``sql`` (which has ``IN :ids``) for many ids, a few hundred at a time."""
    stmt = text(sql).bindparams(bindparam("ids", expanding=True))
    out: list[Any] = []
    for start in range(0, len(ids), IN_LIST):
        out += conn.execute(stmt, {**params, "ids": list(ids[start : start + IN_LIST])}).all()
    return out


def statuses(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    sql = "SELECT submission_id, status FROM submissions WHERE submission_id IN :ids"
    return {r.submission_id: r.status for r in select_in(conn, sql, list(ids))}


def record(
    conn: Connection,
    changes: Iterable[tuple[str, str | None, str, str | None]],
    actor: str,
    at: dt.datetime | None = None,
) -> None:
    """Append events ``(submission_id, from_status, to_status, note)``, numbered after those
    each submission already has."""
    changes = list(changes)
    if not changes:
        return
    ids = sorted({c[0] for c in changes})
    last = {
        r.submission_id: r.seq
        for r in select_in(
            conn,
            "SELECT submission_id, MAX(seq) AS seq FROM submission_events "
            "WHERE submission_id IN :ids GROUP BY submission_id",
            ids,
        )
    }
    when = utc_seconds(at or dt.datetime.now(dt.UTC))
    rows = []
    for sid, before, after, note in changes:
        last[sid] = last.get(sid, 0) + 1
        rows.append(
            {"s": sid, "n": last[sid], "at": when, "a": actor, "f": before, "t": after, "x": note}
        )
    conn.execute(
        text(
            "INSERT INTO submission_events (submission_id, seq, at, actor, from_status, "
            "to_status, note) VALUES (:s, :n, :at, :a, :f, :t, :x)"
        ),
        rows,
    )


def move(
    conn: Connection,
    ids: Sequence[str],
    before: str,
    after: str,
    actor: str,
    notes: dict[str, str] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """Change the status of those of ``ids`` still ``before`` to ``after`` and record it;
    ``extra`` sets more columns per submission (e.g. ``superseded_by``). The ids moved."""
    current = statuses(conn, ids)
    moved = [sid for sid in ids if current.get(sid) == before]
    if not moved:
        return []
    columns = sorted({k for sid in moved for k in (extra or {}).get(sid, {})})
    sets = "".join(f", {c} = :{c}" for c in columns)
    conn.execute(
        text(
            f"UPDATE submissions SET status = :after{sets} "
            "WHERE submission_id = :s AND status = :before"
        ),
        [
            {
                "s": sid,
                "after": after,
                "before": before,
                **{c: (extra or {}).get(sid, {}).get(c) for c in columns},
            }
            for sid in moved
        ],
    )
    record(conn, [(sid, before, after, (notes or {}).get(sid)) for sid in moved], actor)
    _mark_dirty(conn, moved)
    return moved


def _mark_dirty(conn: Connection, ids: Sequence[str]) -> None:
    """The periods of ``ids`` need their marts rebuilt (whichever run builds marts next)."""
    stmt = text(
        "INSERT INTO mart_dirty (period_code) SELECT DISTINCT period_code FROM submissions "
        "WHERE submission_id IN :ids AND period_code IS NOT NULL "
        "ON CONFLICT (period_code) DO NOTHING"
    ).bindparams(bindparam("ids", expanding=True))
    for start in range(0, len(ids), IN_LIST):
        conn.execute(stmt, {"ids": list(ids[start : start + IN_LIST])})


def owe_notices(
    conn: Connection, ids: Sequence[str], kind: str, at: dt.datetime | None = None
) -> None:
    """Record that a notice of ``kind`` is owed about each submission (once: a notice already
    owed stays as it was); :mod:`commune_reports.notices` delivers it."""
    if not ids:
        return
    when = utc_seconds(at or dt.datetime.now(dt.UTC))
    conn.execute(
        text(
            "INSERT INTO notices_due (submission_id, kind, due_at) VALUES (:s, :k, :at) "
            "ON CONFLICT (submission_id, kind) DO NOTHING"
        ),
        [{"s": sid, "k": kind, "at": when} for sid in ids],
    )


def matching(conn: Connection, prefix: str, status: str) -> list[str]:
    """The submissions in ``status`` whose id starts with ``prefix`` (as people type an id:
    its first characters), for a command that acts on exactly one of them."""
    return list(
        conn.execute(
            text(
                "SELECT submission_id FROM submissions WHERE submission_id LIKE :s AND status = :t"
            ),
            {"s": f"{prefix}%", "t": status},
        ).scalars()
    )

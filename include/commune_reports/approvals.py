"""Approved periods are locked: once the district approves a period's report, a new delivery
for it is held as a *pending correction*, listed and announced to the district, and changes
facts and marts only when a later approval applies it (or is declined).

Every decision is kept: approvals in ``period_approvals`` (who, when, how, how many
corrections they applied), each correction's fate in ``submission_events``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text

from commune_reports import ledger
from commune_reports.numbers import format_vn_number
from commune_reports.periods import TIMEZONE, Period, parse_period
from commune_reports.settings import Settings
from commune_reports.warehouse import get_engine, utc_seconds, writing

PENDING = "pending_correction"


class ApprovalError(ValueError):
    """An approval or a decision that cannot be made as asked (no figures, unknown file)."""


@dataclass
class Correction:
    submission_id: str
    unit_code: str
    regime: str
    period_code: str
    original_name: str
    received_at: Any
    changes: list[dict[str, Any]] = field(default_factory=list)  # metric, cell, before, after


@dataclass
class PeriodState:
    regime: str
    period_code: str
    decision: str | None = None  # approved | not_approved | None (never decided)
    decided_by: str | None = None
    decided_at: Any = None
    via: str | None = None
    note: str | None = None
    facts: int = 0  # how many figures the period holds
    pending: list[Correction] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return self.decision == "approved"

    @property
    def to_decide(self) -> bool:
        """Is there something for the district to decide: figures not approved yet, or
        corrections waiting?"""
        return bool(self.pending) or (self.facts > 0 and not self.approved)


def _latest(conn: Connection, pairs: Iterable[tuple[str, str]] | None = None) -> dict:
    rows = conn.execute(
        text(
            "SELECT a.regime, a.period_code, a.decision, a.decided_by, a.decided_at, a.via, "
            "a.note FROM period_approvals AS a WHERE a.seq = (SELECT MAX(b.seq) FROM "
            "period_approvals AS b WHERE b.regime = a.regime AND b.period_code = a.period_code)"
        )
    ).all()
    wanted = set(pairs) if pairs is not None else None
    return {
        (r.regime, r.period_code): r
        for r in rows
        if wanted is None or (r.regime, r.period_code) in wanted
    }


def hold_corrections(conn: Connection, subs: Sequence[Any], actor: str) -> list[Any]:
    """Hold the validated deliveries for approved periods as pending corrections (and owe the
    district a notice of each); return the others, to be loaded."""
    decided = _latest(conn, {(s.regime, s.period_code) for s in subs})
    locked = {key for key, row in decided.items() if row.decision == "approved"}
    held = [s for s in subs if (s.regime, s.period_code) in locked]
    if held:
        notes = {}
        for s in held:
            row = decided[(s.regime, s.period_code)]
            notes[s.submission_id] = (
                f"period approved by {row.decided_by} at {row.decided_at}: awaits a decision"
            )
        moved = ledger.move(
            conn, [s.submission_id for s in held], "validated", PENDING, actor, notes=notes
        )
        ledger.owe_notices(conn, moved, PENDING)
    return [s for s in subs if (s.regime, s.period_code) not in locked]


def covered(conn: Connection, period: Period) -> list[tuple[str, str]]:
    """The (regime, period) pairs whose figures the period's report shows, among those run: a
    quarter's own; for a year, the yearly forms' and its four quarters' (the year's totals add
    up the quarters, so approving the year locks them too)."""
    codes = [period.code]
    if not period.quarter:
        codes += [f"{period.year}Q{q}" for q in range(1, 5)]
    rows = ledger.select_in(
        conn,
        "SELECT regime, period_code FROM periods WHERE period_code IN :ids "
        "ORDER BY period_code, regime",
        codes,
    )
    return [(r.regime, r.period_code) for r in rows]


def _pending(conn: Connection, pairs: Sequence[tuple[str, str]]) -> list[Correction]:
    wanted = set(pairs)
    rows = [
        r
        for r in ledger.select_in(
            conn,
            "SELECT submission_id, unit_code, regime, period_code, original_name, received_at "
            "FROM submissions WHERE status = :s AND period_code IN :ids "
            "ORDER BY received_at, arrival_seq",
            sorted({p for _, p in pairs}),
            s=PENDING,
        )
        if (r.regime, r.period_code) in wanted
    ]
    out = [Correction(**r._mapping) for r in rows]
    for c in out:
        before = {
            r.metric_code: r.value
            for r in conn.execute(
                text(
                    "SELECT metric_code, value FROM facts WHERE unit_code = :u AND regime = :r "
                    "AND period_code = :p"
                ),
                {"u": c.unit_code, "r": c.regime, "p": c.period_code},
            )
        }
        after = conn.execute(
            text(
                "SELECT metric_code, cell, value FROM submission_values "
                "WHERE submission_id = :s ORDER BY cell"
            ),
            {"s": c.submission_id},
        ).all()
        seen = set()
        for r in after:
            seen.add(r.metric_code)
            if _num(before.get(r.metric_code)) != _num(r.value):
                c.changes.append(
                    {
                        "metric": r.metric_code,
                        "cell": r.cell,
                        "before": _num(before.get(r.metric_code)),
                        "after": _num(r.value),
                    }
                )
        for metric in sorted(set(before) - seen):
            c.changes.append(
                {"metric": metric, "cell": None, "before": _num(before[metric]), "after": None}
            )
    return out


def _num(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).normalize()


def state(engine: Engine, period: Period) -> list[PeriodState]:
    """Each (regime, period) the period's report covers: its latest decision and its pending
    corrections (with what each would change)."""
    with engine.connect() as conn:
        pairs = covered(conn, period)
        decided = _latest(conn, pairs)
        pending = _pending(conn, pairs)
        counts = {
            (r.regime, r.period_code): r.n
            for r in ledger.select_in(
                conn,
                "SELECT regime, period_code, COUNT(*) AS n FROM facts "
                "WHERE period_code IN :ids GROUP BY regime, period_code",
                sorted({p for _, p in pairs}),
            )
        }
    out = []
    for regime, code in pairs:
        row = decided.get((regime, code))
        st = PeriodState(regime=regime, period_code=code, facts=counts.get((regime, code), 0))
        if row is not None:
            st.decision, st.decided_by, st.decided_at = row.decision, row.decided_by, row.decided_at
            st.via, st.note = row.via, row.note
        st.pending = [c for c in pending if (c.regime, c.period_code) == (regime, code)]
        out.append(st)
    return out


def decide(
    settings: Settings,
    period: Period,
    by: str,
    via: str,
    now: dt.datetime,
    approve: bool = True,
    only: Sequence[str] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Record the district's decision on the period's report. Approving applies the pending
    corrections (all, or those of ``only``: the ones the approver was shown) to the facts and
    rebuilds the marts; not approving records the decision and changes nothing else."""
    from commune_reports import stages

    by = by.strip()
    if not by:
        raise ApprovalError("ai duyệt? / who decides? (--by)")
    engine = get_engine(settings.warehouse_url)
    actor = f"approval:{by}"
    with writing(engine) as conn:
        pairs = covered(conn, period)
        held = ledger.select_in(
            conn,
            "SELECT regime, period_code FROM facts WHERE period_code IN :ids "
            "UNION SELECT regime, period_code FROM submissions WHERE status = :s "
            "AND period_code IN :ids",
            sorted({p for _, p in pairs}),
            s=PENDING,
        )
        if not {(r.regime, r.period_code) for r in held} & set(pairs):
            raise ApprovalError(
                f"kỳ {period.code} chưa có số liệu để duyệt / period {period.code} has no figures "
                "to approve: run it first"
            )
        applied: dict[tuple[str, str], list[str]] = {pair: [] for pair in pairs}
        if approve:
            pending = _pending(conn, pairs)
            ids = [c.submission_id for c in pending if only is None or c.submission_id in only]
            moved = ledger.move(
                conn, ids, PENDING, "validated", actor, notes=dict.fromkeys(ids, "approved")
            )
            rows = ledger.select_in(
                conn,
                f"SELECT {stages.LOAD_COLUMNS} FROM submissions WHERE submission_id IN :ids",
                moved,
            )
            stages.apply_deliveries(conn, rows, actor)
            for r in rows:
                applied[(r.regime, r.period_code)].append(r.submission_id)
        for regime, code in pairs:
            seq = conn.execute(
                text(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM period_approvals "
                    "WHERE regime = :r AND period_code = :p"
                ),
                {"r": regime, "p": code},
            ).scalar()
            conn.execute(
                text(
                    "INSERT INTO period_approvals (regime, period_code, seq, decision, "
                    "decided_at, decided_by, via, corrections_applied, note) VALUES (:r, :p, "
                    ":seq, :d, :at, :by, :via, :n, :note)"
                ),
                {
                    "r": regime,
                    "p": code,
                    "seq": seq,
                    "d": "approved" if approve else "not_approved",
                    "at": utc_seconds(now),
                    "by": by,
                    "via": via,
                    "n": len(applied[(regime, code)]),
                    "note": note,
                },
            )
    if any(applied.values()):
        changed = sorted({parse_period(code) for (_, code), ids in applied.items() if ids})
        stages.build_marts(settings, changed, sorted({r for r, _ in pairs}))
    return {
        "period": period.code,
        "covers": [f"{r} {p}" for r, p in pairs],
        "decision": "approved" if approve else "not_approved",
        "decided_by": by,
        "via": via,
        "corrections_applied": sorted(sid for ids in applied.values() for sid in ids),
    }


def decline(
    settings: Settings, submission_id: str, by: str, note: str | None = None
) -> dict[str, Any]:
    """Decline one pending correction: it stays archived and listed as declined, and never
    changes a figure."""
    engine = get_engine(settings.warehouse_url)
    with writing(engine) as conn:
        found = ledger.matching(conn, submission_id, PENDING)
        if len(found) != 1:
            raise ApprovalError(
                f"không có đúng một bản sửa chờ duyệt {submission_id} (xem: commune-reports "
                f"corrections --period P) / no single pending correction {submission_id} "
                "(see: commune-reports corrections --period P)"
            )
        reason = f"declined by {by}" + (f": {note}" if note else "")
        ledger.move(conn, found, PENDING, "declined", f"approval:{by}", notes={found[0]: reason})
    return {"submission_id": found[0], "status": "declined", "decided_by": by}


def _local(moment: Any) -> str:
    if moment is None:
        return "?"
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.fromisoformat(str(moment))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%H:%M %d/%m/%Y")


def _iso(moment: Any) -> str | None:
    """A stored time as ISO 8601 in Asia/Ho_Chi_Minh (for JSON)."""
    if moment is None:
        return None
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.fromisoformat(str(moment))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(TIMEZONE)).isoformat()


def _value(value: Decimal | None) -> str:
    if value is None:
        return "trống / blank"
    decimals = max(0, -value.as_tuple().exponent)
    return format_vn_number(value, decimals)


def correction_lines(c: Correction) -> list[str]:
    """One correction as lines: the file, when it came, and what it would change."""
    lines = [
        f"   - {c.unit_code}: {c.original_name} (nhận lúc / received {_local(c.received_at)}, "
        f"mã / id {c.submission_id[:12]})"
    ]
    for ch in c.changes:
        where = f" [{ch['cell']}]" if ch["cell"] else ""
        lines.append(
            f"       {ch['metric']}{where}: {_value(ch['before'])} → {_value(ch['after'])}"
        )
    if not c.changes:
        lines.append("       không thay đổi số liệu nào / changes no figure")
    return lines


def render_state(states: Sequence[PeriodState]) -> str:
    """The report's closing lines: the approvals (who, when; one line for the periods one
    decision covered), what is not approved yet, and any pending corrections with what they
    would change."""
    lines: list[str] = []
    groups: dict[tuple, list[str]] = {}
    undecided = []
    for st in states:
        label = st.period_code  # a year's yearly and evaluation forms: one label
        if st.decision:
            key = (st.decision, st.decided_by, _local(st.decided_at), st.via, st.note)
            labels = groups.setdefault(key, [])
        elif st.facts:
            labels = undecided
        else:
            continue
        if label not in labels:
            labels.append(label)
    for (decision, by, at, via, note), labels in groups.items():
        if decision == "approved":
            said = f"đã duyệt bởi {by} lúc {at} / approved by {by} at {at}"
        else:
            said = f"không duyệt ({by}, {at}) / not approved ({by}, {at})"
        lines.append(f"Phê duyệt / Approval: {said} (Asia/Ho_Chi_Minh, {via}): {', '.join(labels)}")
        if note:
            lines.append(f"   Ghi chú / note: {note}")
    if undecided:
        lines.append("Phê duyệt / Approval: chưa duyệt / not approved yet: " + ", ".join(undecided))
    for st in states:
        if st.pending:
            n = len(st.pending)
            lines.append(
                f"{st.period_code}: {n} bản sửa chờ duyệt, chưa tính vào số liệu trên / {n} "
                f"pending correction{'s' if n != 1 else ''}, not in the figures above:"
            )
            for c in st.pending:
                lines += correction_lines(c)
    return "\n".join(lines) + ("\n" if lines else "")


def as_dict(states: Sequence[PeriodState]) -> list[dict[str, Any]]:
    """The state as JSON-ready rows (for ``corrections --format json``)."""
    out = []
    for st in states:
        out.append(
            {
                "regime": st.regime,
                "period": st.period_code,
                "decision": st.decision,
                "decided_by": st.decided_by,
                "decided_at": _iso(st.decided_at),
                "via": st.via,
                "pending_corrections": [
                    {
                        "submission_id": c.submission_id,
                        "unit": c.unit_code,
                        "file": c.original_name,
                        "received_at": _iso(c.received_at),
                        "changes": [
                            {
                                **ch,
                                "before": None if ch["before"] is None else str(ch["before"]),
                                "after": None if ch["after"] is None else str(ch["after"]),
                            }
                            for ch in c.changes
                        ],
                    }
                    for c in st.pending
                ],
            }
        )
    return out

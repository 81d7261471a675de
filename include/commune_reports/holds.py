"""Files held by a blocking consistency check (``severity = block`` in ``catalog/checks.csv``).

A block rule reconciles two metrics one unit reports on its own forms (the yearly form's
dossiers against its four quarters). When a validated file would make them disagree, the
file is not loaded: it is ``held``, with each finding (its cell and value, the cells it
disagrees with, the fix) in ``submission_holds``, and the unit is told at once. It leaves that
state when the unit sends a corrected file (the held one is then superseded) or when the
district releases it (``commune-reports release``), which loads it as sent. Nothing is lost:
the file stays archived and its values stay in ``submission_values``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from commune_reports import ledger
from commune_reports.catalog import Catalog, Check, load_catalog
from commune_reports.numbers import format_vn_number
from commune_reports.periods import parse_period
from commune_reports.settings import Settings
from commune_reports.warehouse import get_engine, query, writing

HELD = "held"


class HoldError(ValueError):
    """A release that cannot be made as asked (no such held file)."""


@dataclass(frozen=True)
class Value:
    submission_id: str | None  # None: a fact already loaded
    period_code: str
    value: Decimal
    sheet: str | None
    cell: str | None


@dataclass(frozen=True)
class Finding:
    """A block rule broken by ``submission_id``: its ``value`` of ``metric`` for the unit and
    period against ``reference``, the sum of ``parts`` (the other metric's values)."""

    submission_id: str
    check: Check
    unit_code: str
    period_code: str
    value: Value
    reference: Decimal
    parts: tuple[Value, ...]
    label: str
    other_label: str

    def message(self) -> tuple[str, str]:
        """The finding in Vietnamese and in English: cells, values and the fix."""
        parts_vi = "; ".join(
            f"{p.period_code} ô {p.cell}: {format_vn_number(p.value)}" for p in self.parts
        )
        parts_en = "; ".join(f"{p.period_code} cell {p.cell}: {p.value:,}" for p in self.parts)
        vi = (
            f"{self.label} kỳ {self.period_code} (ô {self.value.cell or '?'}) là "
            f"{format_vn_number(self.value.value)}, không khớp {self.other_label} cộng lại "
            f"{format_vn_number(self.reference)} ({parts_vi}): sửa biểu sai rồi gửi lại, hoặc "
            "đề nghị huyện xác nhận số liệu"
        )
        en = (
            f"{self.check.metric_code} {self.period_code} (cell {self.value.cell or '?'}) is "
            f"{self.value.value:,}, which does not add up with {self.check.other_metric} "
            f"{self.reference:,} ({parts_en}): correct the wrong form and send it again, or "
            "ask the district to confirm the figures"
        )
        return vi, en


def _periods_of(code: str, period_type: str) -> list[str]:
    """The periods of ``period_type`` that make up period ``code`` (a year's quarters)."""
    period = parse_period(code)
    if period_type == "quarter" and not period.quarter:
        return [f"{period.year}Q{q}" for q in range(1, 5)]
    return [code]


def find_blocked(
    conn: Connection, batch_id: str, subs: Sequence[Any], catalog: Catalog
) -> list[Finding]:
    """The block rules the validated deliveries ``subs`` of batch ``batch_id`` would break
    once loaded, each side taken from the latest of these deliveries or else from the facts."""
    rules = [c for c in catalog.checks if c.severity == "block"]
    if not rules or not subs:
        return []
    metrics = catalog.metrics_by_code
    order = {s.submission_id: (s.received_at, s.arrival_seq or 0) for s in subs}
    values: dict[tuple[str, str, str], Value] = {}
    for r in conn.execute(query("hold_values"), {"batch_id": batch_id}).all():
        if r.submission_id is not None and r.submission_id not in order:
            continue  # a delivery of the batch held back already (a pending correction)
        key = (r.unit_code, r.metric_code, r.period_code)
        mine = Value(r.submission_id, r.period_code, Decimal(str(r.value)), r.sheet, r.cell)
        held = values.get(key)
        if held is None or (
            r.submission_id is not None
            and (held.submission_id is None or order[r.submission_id] > order[held.submission_id])
        ):
            values[key] = mine
    found: list[Finding] = []
    for rule in rules:
        own_type = catalog.regimes[metrics[rule.metric_code].regime].period_type
        other_type = catalog.regimes[metrics[rule.other_metric].regime].period_type
        for (unit, metric, period), value in sorted(values.items(), key=lambda kv: kv[0]):
            if metric != rule.metric_code or parse_period(period).period_type != own_type:
                continue
            parts = [
                values.get((unit, rule.other_metric, p)) for p in _periods_of(period, other_type)
            ]
            if any(p is None for p in parts):
                continue  # the other side is not complete: nothing to reconcile yet
            complete = [p for p in parts if p is not None]
            reference = sum((p.value for p in complete), Decimal(0))
            if reference <= 0:
                continue
            if 100 * abs(value.value - reference) <= Decimal(str(rule.threshold)) * reference:
                continue
            for sid in {v.submission_id for v in (value, *complete) if v.submission_id}:
                found.append(
                    Finding(
                        sid,
                        rule,
                        unit,
                        period,
                        value,
                        reference,
                        tuple(complete),
                        metrics[rule.metric_code].label,
                        metrics[rule.other_metric].label.lower(),
                    )
                )
    return found


def hold_blocked(
    conn: Connection, subs: Sequence[Any], batch_id: str, catalog: Catalog | None = None
) -> list[Any]:
    """Hold the deliveries of ``subs`` that break a block rule (recording why and owing the
    unit a notice); return the others, to be loaded."""
    findings = find_blocked(conn, batch_id, subs, catalog or load_catalog())
    if not findings:
        return list(subs)
    by_sub: dict[str, list[Finding]] = {}
    for f in findings:
        by_sub.setdefault(f.submission_id, []).append(f)
    notes = {sid: " | ".join(f.message()[1] for f in fs) for sid, fs in by_sub.items()}
    moved = ledger.move(conn, sorted(by_sub), "validated", HELD, batch_id, notes=notes)
    conn.execute(
        text("DELETE FROM submission_holds WHERE submission_id = :s"), [{"s": s} for s in moved]
    )
    rows = []
    for sid in moved:
        for f in by_sub[sid]:
            vi, en = f.message()
            own = f.value.submission_id == sid
            mine = f.value if own else next(p for p in f.parts if p.submission_id == sid)
            rows.append(
                {
                    "submission_id": sid,
                    "check_code": f.check.code,
                    "unit_code": f.unit_code,
                    "period_code": f.period_code,
                    "metric_code": f.check.metric_code,
                    "value": float(f.value.value),
                    "reference_metric": f.check.other_metric,
                    "reference": float(f.reference),
                    "reference_period": ",".join(p.period_code for p in f.parts),
                    "sheet": mine.sheet,
                    "cell": mine.cell,
                    "threshold": f.check.threshold,
                    "message_vi": vi,
                    "message_en": en,
                }
            )
    if rows:
        conn.execute(
            text(
                "INSERT INTO submission_holds (submission_id, check_code, unit_code, period_code, "
                "metric_code, value, reference_metric, reference, reference_period, sheet, cell, "
                "threshold, message_vi, message_en) VALUES (:submission_id, :check_code, "
                ":unit_code, :period_code, :metric_code, :value, :reference_metric, :reference, "
                ":reference_period, :sheet, :cell, :threshold, :message_vi, :message_en)"
            ),
            rows,
        )
    ledger.owe_notices(conn, moved, HELD)
    return [s for s in subs if s.submission_id not in set(moved)]


def held(conn: Connection, period_code: str | None = None) -> list[dict[str, Any]]:
    """The files held now, each with its findings (for ``commune-reports held``)."""
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(query("held_files"), {"period": period_code or ""}):
        item = out.setdefault(
            r.submission_id,
            {
                "submission_id": r.submission_id,
                "unit": r.unit_code,
                "regime": r.regime,
                "period": r.submission_period,
                "file": r.original_name,
                "findings": [],
            },
        )
        item["findings"].append(
            {
                "check": r.check_code,
                "sheet": r.sheet,
                "cell": r.cell,
                "vi": r.message_vi,
                "en": r.message_en,
            }
        )
    return list(out.values())


def release(
    settings: Settings, submission_id: str, by: str, note: str | None = None
) -> dict[str, Any]:
    """Load a held file as it was sent, on the district's word (who, when, why kept in the
    file's history), and rebuild the marts of its period."""
    from commune_reports import stages

    by = by.strip()
    if not by:
        raise HoldError("ai cho phép? / who releases it? (--by)")
    engine = get_engine(settings.warehouse_url)
    with writing(engine) as conn:
        found = ledger.matching(conn, submission_id, HELD)
        if len(found) != 1:
            raise HoldError(
                f"không có đúng một tệp bị giữ {submission_id} (xem: commune-reports held) / "
                f"no single held file {submission_id} (see: commune-reports held)"
            )
        reason = f"released by {by}" + (f": {note}" if note else "")
        actor = f"release:{by}"
        moved = ledger.move(conn, found, HELD, "validated", actor, notes={found[0]: reason})
        rows = ledger.select_in(
            conn,
            f"SELECT {stages.LOAD_COLUMNS} FROM submissions WHERE submission_id IN :ids",
            moved,
        )
        stages.apply_deliveries(conn, rows, actor)
        row = rows[0]
    period = parse_period(row.period_code)
    stages.build_marts(settings, [period], [row.regime])
    return {"submission_id": found[0], "status": "accepted", "released_by": by, "note": note}

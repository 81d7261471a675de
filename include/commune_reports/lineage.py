"""What is behind one figure, for an analyst who must defend it: the figure as the report
prints it, its numerator and denominator, every file, sheet, cell and value they are summed
from (``sql/queries/trace.sql`` on the ``figure_lineage`` view) and what was sent for the same
units and periods but not taken (``sql/queries/trace_others.sql``).

The cells are read by the same rules as the figure (the views share ``period_groups`` and
``unit_bases`` with ``sql/queries/figures.sql``), and :func:`trace` checks that they add up to
it, so a trace that disagrees with the report says so instead of explaining another number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from commune_reports.catalog import Catalog, load_catalog
from commune_reports.numbers import format_vn_number
from commune_reports.periods import canonical_range, parse_period_range
from commune_reports.report import Coverage, Figures, code_list, load_figures
from commune_reports.warehouse import query

EXPECTED = "expected:"
LEVEL_WORDS = {"all": "mọi cấp / all levels", "district": "cấp huyện", "commune": "cấp xã"}


class TraceError(ValueError):
    """The figure asked for is not one the warehouse computes (an unknown metric or level)."""


@dataclass(frozen=True)
class Cell:
    """One value in a figure: who sent it, for which period, and where it was read."""

    metric: str
    unit_code: str
    unit_name: str
    mapped_unit_code: str
    period: str
    level: str
    value: Decimal | None
    share: Decimal
    figure_value: Decimal | None
    submission_id: str
    original_name: str
    archive_path: str
    sheet: str
    cell: str
    received_at: str
    status: str = "accepted"
    superseded_by: str | None = None
    definition_version: int | None = None

    def json(self) -> dict[str, Any]:
        out = {
            "metric": self.metric,
            "unit": self.unit_code,
            "unit_name": self.unit_name,
            "period": self.period,
            "level": self.level,
            "value": _num(self.value),
            "share": float(self.share),
            "figure_value": _num(self.figure_value),
            "submission_id": self.submission_id,
            "file": self.original_name,
            "archive_path": self.archive_path,
            "sheet": self.sheet,
            "cell": self.cell,
            "received_at": self.received_at,
            "status": self.status,
            "definition_version": self.definition_version,
        }
        if self.mapped_unit_code != self.unit_code:
            out["as_now_unit"] = self.mapped_unit_code
        if self.superseded_by:
            out["superseded_by"] = self.superseded_by
        return out


@dataclass(frozen=True)
class Part:
    """A metric the figure is made of (the figure itself, or a rate's numerator or
    denominator), the value the report uses and the cells it is summed from. A denominator
    of expected reports (``expected:<metric>``) has no cells: it counts unit-periods."""

    role: str  # value | numerator | denominator
    metric: str
    label: str
    aggregation: str
    figure: Decimal | None
    cells: list[Cell]

    @property
    def counted(self) -> bool:
        return self.metric.startswith(EXPECTED)

    @property
    def cells_total(self) -> Decimal | None:
        values = [c.figure_value for c in self.cells if c.figure_value is not None]
        if self.counted or not values:
            return None
        if self.aggregation == "sum":
            return sum(values, Decimal(0))
        if self.aggregation == "min":
            return min(values)
        return values[0] if len(values) == 1 else None

    @property
    def agrees(self) -> bool:
        """Do the cells give the figure the report prints? (a counted denominator: yes)"""
        if self.counted:
            return True
        return _same(self.cells_total, self.figure)

    def json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "metric": self.metric,
            "label": self.label,
            "figure": _num(self.figure),
            "cells_total": _num(self.cells_total),
            "agrees": self.agrees,
            "cells": [c.json() for c in self.cells],
        }


@dataclass
class Trace:
    """One figure of one unit, period and level, and everything behind it."""

    code: str
    kind: str  # metric | rate
    label: str
    unit_code: str
    unit_name: str
    period: str
    level: str
    as_now: bool
    value: Decimal | None
    coverage: Coverage | None
    parts: list[Part]
    others: list[Cell] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return all(p.agrees for p in self.parts)

    def json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "label": self.label,
            "unit": self.unit_code,
            "unit_name": self.unit_name,
            "period": self.period,
            "level": self.level,
            "as_now": self.as_now,
            "value": _num(self.value),
            "coverage": self.coverage.json() if self.coverage else None,
            "agrees": self.agrees,
            "parts": [p.json() for p in self.parts],
            "not_taken": [c.json() for c in self.others],
        }


def trace(
    engine: Engine,
    unit: str,
    period_text: str,
    code: str,
    level: str = "all",
    as_now: bool = False,
    catalog: Catalog | None = None,
) -> Trace:
    """The figure ``code`` (a metric or a rate) of unit ``unit`` for ``period_text`` (a
    quarter, a year or a range) at ``level``, as ``report`` computes it, with its cells."""
    catalog = catalog or load_catalog()
    if level not in LEVEL_WORDS:
        raise TraceError(f"cấp không hợp lệ / unknown level {level!r}: all, district or commune")
    metrics = {m.code: m for m in catalog.metrics}
    rates = {r.code: r for r in catalog.rates}
    if code in rates:
        rate = rates[code]
        roles = [("numerator", rate.numerator), ("denominator", rate.denominator)]
        kind, label = "rate", rate.label
    elif code in metrics:
        roles, kind, label = [("value", code)], "metric", metrics[code].label
    else:
        raise TraceError(
            f"không có chỉ tiêu {code!r} / no metric or rate {code!r} "
            "(see catalog/metrics.csv and catalog/rates.csv)"
        )
    period_text = canonical_range(period_text)
    figures = load_figures(engine, period_text, catalog, unit=unit, as_now=as_now)
    target = figures.unit
    key = figures.label
    groups = [p.code for p in parse_period_range(period_text)]
    names = [m for _, m in roles if not m.startswith(EXPECTED)]
    params = {
        "basis": "now" if as_now else "reported",
        "unit_key": target.key,
        "code_list": code_list(groups),
        "metric_list": code_list(names),
        "level": level,
    }
    with engine.connect() as conn:
        rows = conn.execute(query("trace"), params).all()
        not_taken = conn.execute(query("trace_others"), params).all()
    cells: dict[str, list[Cell]] = {}
    for r in rows:
        cells.setdefault(r.metric_code, []).append(_cell(r))
    parts = []
    for role, metric in roles:
        counted = metric.startswith(EXPECTED)
        base = metrics[metric.removeprefix(EXPECTED)]
        parts.append(
            Part(
                role=role,
                metric=metric,
                label=("số đơn vị-kỳ phải báo cáo / reports expected: " if counted else "")
                + base.label,
                aggregation=base.aggregation,
                figure=_figure(figures, kind, code, role, level, key),
                cells=[] if counted else cells.get(metric, []),
            )
        )
    value = figures.rate(code, level, key) if kind == "rate" else figures.total(code, level, key)
    return Trace(
        code=code,
        kind=kind,
        label=label,
        unit_code=target.code,
        unit_name=target.name,
        period=key,
        level=level,
        as_now=as_now,
        value=value,
        coverage=figures.coverage.get((code, level, key)),
        parts=parts,
        others=[_cell(r, r.status, r.superseded_by) for r in not_taken],
    )


def _figure(
    figures: Figures, kind: str, code: str, role: str, level: str, key: str
) -> Decimal | None:
    if kind == "metric":
        return figures.total(code, level, key)
    parts = figures.rates.get(code, {}).get(level, {}).get(key)
    if parts is None:
        return None
    return parts[0] if role == "numerator" else parts[1]


def _cell(r: Any, status: str = "accepted", superseded_by: str | None = None) -> Cell:
    value = None if r.value is None else Decimal(str(r.value))
    share = Decimal(str(getattr(r, "share", 1) or 1))
    figure_value = getattr(r, "figure_value", r.value)
    return Cell(
        metric=r.metric_code,
        unit_code=r.unit_code,
        unit_name=getattr(r, "unit_name", "") or "",
        mapped_unit_code=getattr(r, "mapped_unit_code", r.unit_code) or r.unit_code,
        period=r.period_code,
        level=getattr(r, "level", ""),
        value=value,
        share=share,
        figure_value=None if figure_value is None else Decimal(str(figure_value)),
        submission_id=r.submission_id,
        original_name=r.original_name,
        archive_path=r.archive_path,
        sheet=r.sheet,
        cell=r.cell,
        received_at=str(r.received_at),
        status=status,
        superseded_by=superseded_by,
        definition_version=getattr(r, "definition_version", None),
    )


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < Decimal("0.0001")


def _num(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _vn(value: Decimal | None) -> str:
    if value is None:
        return "—"
    if value == value.to_integral_value():
        return format_vn_number(value)
    return format_vn_number(value, 2)


def render_trace(t: Trace) -> str:
    """The trace as an analyst reads it: the figure, each part with its cells, and what was
    sent but not taken."""
    basis = "theo đơn vị hiện nay / as today's units" if t.as_now else "as reported"
    lines = [
        f"Truy nguyên số liệu / Trace: {t.code} ({t.label})",
        f"Đơn vị / unit: {t.unit_name} ({t.unit_code}); kỳ / period: {t.period}; "
        f"{LEVEL_WORDS[t.level]}; {basis}",
    ]
    if t.kind == "rate" and t.value is not None:
        num, den = (p.figure for p in t.parts)
        lines.append(f"Số liệu / figure: {_vn(t.value)}% = {_vn(num)} / {_vn(den)}")
    else:
        lines.append(f"Số liệu / figure: {_vn(t.value)}")
    if t.coverage is not None:
        c = t.coverage
        lines.append(
            f"Đã báo cáo / reported: {c.units_reporting}/{c.units_expected} đơn vị / units, "
            f"{c.reports_received}/{c.reports_expected} báo cáo / reports, "
            f"{c.periods_included}/{c.periods_expected} kỳ / periods"
            + ("" if c.complete else " — chưa đầy đủ / incomplete")
        )
    for p in t.parts:
        lines += ["", f"{p.role}: {p.metric} — {p.label}"]
        if p.counted:
            lines.append(f"   = {_vn(p.figure)} (đếm, không cộng ô nào / counted, no cells)")
            continue
        check = "khớp / agrees" if p.agrees else "KHÔNG KHỚP / DISAGREES"
        lines.append(
            f"   {len(p.cells)} ô / cells, tổng / sum {_vn(p.cells_total)}; "
            f"số liệu / figure {_vn(p.figure)} ({check})"
        )
        lines += [f"   - {_cell_line(c)}" for c in p.cells]
    if t.others:
        lines += ["", "Đã gửi nhưng không dùng / sent but not taken:"]
        lines += [f"   - {_cell_line(c)} [{c.status}]" for c in t.others]
    return "\n".join(lines) + "\n"


def _cell_line(c: Cell) -> str:
    share = f" × {c.share.normalize()}" if c.share != 1 else ""
    now = f" → {c.mapped_unit_code}" if c.mapped_unit_code != c.unit_code else ""
    version = f" [v{c.definition_version}]" if c.definition_version else ""
    return (
        f"{c.period} {c.unit_code}{now} {c.unit_name}: {_vn(c.value)}{share}{version} — "
        f"{c.original_name} {c.sheet}!{c.cell} (nhận / received {c.received_at[:19]}, "
        f"{c.submission_id[:12]})"
    )

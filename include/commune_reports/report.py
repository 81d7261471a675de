"""District figures for a period, a year or a range, read from the marts.

Rates are recomputed from summed numerators and denominators (exact decimals), so a range's
rate is never an average of rates and the text matches the official rounding.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text

from commune_reports.catalog import Catalog, load_catalog
from commune_reports.numbers import format_vn_number, format_vn_percent, format_vn_score
from commune_reports.periods import Period, canonical_range, parse_period_range

LEVELS = ("commune", "district", "all")
TEMPLATES = Path(__file__).with_name("templates")
PENDING = "đang chờ kết quả thẩm định"


@dataclass
class Figures:
    """Sums (metric -> level -> period -> value) and rate parts (rate -> level -> period)."""

    periods: list[Period]
    label: str
    totals: dict[str, dict[str, dict[str, Decimal | None]]]
    rates: dict[str, dict[str, dict[str, tuple[Decimal, Decimal]]]]
    caveats: list[str] = field(default_factory=list)

    def total(self, metric: str, level: str, period: str) -> Decimal | None:
        return self.totals.get(metric, {}).get(level, {}).get(period)

    @property
    def empty(self) -> bool:
        return not self.totals

    def rate(self, code: str, level: str, period: str) -> Decimal | None:
        parts = self.rates.get(code, {}).get(level, {}).get(period)
        if not parts or not parts[1]:
            return None
        return Decimal(100) * parts[0] / parts[1]


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def load_figures(engine: Engine, period_text: str, catalog: Catalog | None = None) -> Figures:
    """Read mart rows for each period of ``period_text`` and add a range total if it is one."""
    catalog = catalog or load_catalog()
    period_text = canonical_range(period_text)
    periods = parse_period_range(period_text)
    codes = [p.code for p in periods]
    with engine.connect() as conn:
        total_rows = conn.execute(
            text(
                "SELECT period_code, level, metric_code, value FROM mart_totals "
                "WHERE period_code IN :codes"
            ).bindparams(bindparam("codes", expanding=True)),
            {"codes": codes},
        ).all()
        rate_rows = conn.execute(
            text(
                "SELECT period_code, level, rate_code, numerator, denominator FROM mart_rates "
                "WHERE period_code IN :codes"
            ).bindparams(bindparam("codes", expanding=True)),
            {"codes": codes},
        ).all()
        caveats = coverage_caveats(conn, periods)
    totals: dict[str, dict[str, dict[str, Decimal | None]]] = {}
    for r in total_rows:
        totals.setdefault(r.metric_code, {}).setdefault(r.level, {})[r.period_code] = _dec(r.value)
    rates: dict[str, dict[str, dict[str, tuple[Decimal, Decimal]]]] = {}
    for r in rate_rows:
        rates.setdefault(r.rate_code, {}).setdefault(r.level, {})[r.period_code] = (
            _dec(r.numerator) or Decimal(0),
            _dec(r.denominator) or Decimal(0),
        )
    if len(periods) > 1:
        sums = {m.code for m in catalog.metrics if m.aggregation == "sum"}
        for metric, by_level in totals.items():
            if metric not in sums:
                continue
            for by_period in by_level.values():
                present = [by_period[c] for c in codes if by_period.get(c) is not None]
                if present:
                    by_period[period_text] = sum(present, Decimal(0))
        for by_level in rates.values():
            for by_period in by_level.values():
                parts = [by_period[c] for c in codes if c in by_period]
                if parts:
                    by_period[period_text] = (
                        sum((p[0] for p in parts), Decimal(0)),
                        sum((p[1] for p in parts), Decimal(0)),
                    )
    return Figures(periods=periods, label=period_text, totals=totals, rates=rates, caveats=caveats)


def coverage_caveats(conn: Connection, periods: list[Period]) -> list[str]:
    """One line for each figure that is not complete: a form some expected units have not
    sent (accepted, on time or late), or a year whose quarterly forms are not all loaded.
    An official must see this before the figures, never a partial total printed as whole."""
    codes = sorted(
        {p.code for p in periods}
        | {f"{p.year}Q{q}" for p in periods if not p.quarter for q in range(1, 5)}
    )
    rows = conn.execute(
        text(
            "SELECT regime, period_code, units_expected, units_reported "
            "FROM mart_completeness_rates WHERE level = 'all' AND period_code IN :codes "
            "ORDER BY period_code, regime"
        ).bindparams(bindparam("codes", expanding=True)),
        {"codes": codes},
    ).all()
    loaded = {
        (r.year, r.quarter)
        for r in conn.execute(
            text(
                "SELECT DISTINCT year, quarter FROM periods "
                "WHERE period_type = 'quarter' AND year IN :years"
            ).bindparams(bindparam("years", expanding=True)),
            {"years": sorted({p.year for p in periods})},
        ).all()
    }
    lines = []
    for p in periods:
        if p.quarter:
            continue
        have = [q for q in range(1, 5) if (p.year, q) in loaded]
        if len(have) < 4:
            held = ", ".join(f"Q{q}" for q in have) or "—"
            lines.append(
                f"Năm {p.year}: số liệu quý mới có {held}, chưa đủ 4 quý / "
                f"year {p.year}: quarters loaded {held}, not all 4"
            )
        if not any(r.period_code == p.code for r in rows):
            lines.append(
                f"Năm {p.year}: chưa có số liệu biểu năm / year {p.year}: yearly forms not loaded"
            )
    for r in rows:
        if r.units_reported < r.units_expected:
            lines.append(
                f"{r.period_code} ({r.regime}): {r.units_reported}/{r.units_expected} đơn vị đã "
                f"báo cáo, số liệu chưa đầy đủ / {r.units_reported} of {r.units_expected} units "
                "reported, figures incomplete"
            )
    return lines


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def figure_rows(figures: Figures) -> list[dict[str, Any]]:
    """Rows {"metric", "level", "period", "value"} for JSON output (rates in %, 2 decimals)."""
    keys = [p.code for p in figures.periods]
    if len(figures.periods) > 1:
        keys.append(figures.label)
    out: list[dict[str, Any]] = []
    for metric, by_level in sorted(figures.totals.items()):
        for level in LEVELS:
            for key in keys:
                value = by_level.get(level, {}).get(key)
                if value is not None:
                    out.append(
                        {"metric": metric, "level": level, "period": key, "value": _number(value)}
                    )
    for code in sorted(figures.rates):
        for level in LEVELS:
            for key in keys:
                rate = figures.rate(code, level, key)
                if rate is not None:
                    rounded = rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                    out.append(
                        {"metric": code, "level": level, "period": key, "value": float(rounded)}
                    )
    return out


def _pct(value: Decimal | None) -> str:
    if value is None:
        return "—"
    if value == value.to_integral_value():
        return format_vn_percent(value, 0)
    return format_vn_percent(value)


def _count(value: Decimal | None) -> str:
    return "—" if value is None else format_vn_number(value)


def render_footnote(figures: Figures, first: str, second: str) -> str:
    """Footnote 4 of the district report (online dossiers by level) for two years."""
    template = (TEMPLATES / "footnote_online_filing.txt").read_text(encoding="utf-8").strip()
    fields: dict[str, str] = {"y1": first, "y2": second}
    for tag, year in (("y1", first), ("y2", second)):
        for level in ("district", "commune"):
            fields[f"{tag}_{level}_online"] = _count(
                figures.total("dossiers_received_online", level, year)
            )
            fields[f"{tag}_{level}_rate"] = _pct(figures.rate("online_filing_rate", level, year))
    return template.format(**fields)


def render_text(figures: Figures, catalog: Catalog | None = None) -> str:
    """The district figures in Vietnamese number format, as an official would write them."""
    catalog = catalog or load_catalog()
    keys = [p.code for p in figures.periods]
    label = figures.label
    names = {p.code: p.label_vi for p in figures.periods}
    lines = [
        "BÁO CÁO SỐ LIỆU CÔNG TÁC DÂN VẬN CHÍNH QUYỀN — HUYỆN THÁP MƯỜI",
        f"Kỳ báo cáo: {label} ({names[keys[0]]}"
        + (f" – {names[keys[-1]]})" if len(keys) > 1 else ")"),
        "",
    ]
    if figures.caveats:
        lines += ["Lưu ý / Caveat:"] + [f"   - {c}" for c in figures.caveats] + [""]
    sections: list[tuple[str, list[str]]] = []
    sessions = figures.total("dissemination_sessions", "all", label)
    detail = [
        f"   - {names[k]}: {_count(figures.total('dissemination_sessions', 'all', k))} cuộc"
        for k in keys
    ]
    sections.append(
        (
            "Số cuộc tuyên truyền, quán triệt về công tác dân vận: " + f"{_count(sessions)} cuộc",
            detail if len(keys) > 1 else [],
        )
    )
    sections.append(
        (
            "Tiếp công dân, đối thoại, giải quyết đơn khiếu nại, tố cáo:",
            [
                f"   - {names[k]}: "
                f"{_count(figures.total('citizen_reception_sessions', 'all', k))} buổi tiếp công "
                f"dân định kỳ; {_count(figures.total('dialogue_sessions', 'all', k))} cuộc đối "
                f"thoại; tiếp nhận {_count(figures.total('complaints_received', 'all', k))} đơn, "
                f"đã giải quyết {_count(figures.total('complaints_resolved', 'all', k))} đơn "
                f"({_pct(figures.rate('complaint_resolution_rate', 'all', k))})"
                for k in keys
            ],
        )
    )
    if any(not p.quarter for p in figures.periods):
        sections.append(
            (
                "Tỷ lệ đơn vị tổ chức Hội nghị cán bộ, công chức, viên chức:",
                [
                    f"   - {names[k]}: {_pct(figures.rate('staff_conference_rate', 'all', k))}"
                    for k in keys
                ],
            )
        )
    sections.append(
        (
            "Tỷ lệ hồ sơ giải quyết đúng hạn và trước hạn:",
            [
                f"   - {names[k]}: cấp huyện "
                f"{_pct(figures.rate('on_time_resolution_rate', 'district', k))}, cấp xã "
                f"{_pct(figures.rate('on_time_resolution_rate', 'commune', k))}"
                for k in keys
            ],
        )
    )
    online_lines = []
    for k in keys:
        parts = []
        for level, name in (("district", "cấp huyện"), ("commune", "cấp xã")):
            online = figures.total("dossiers_received_online", level, k)
            total = figures.total("dossiers_received_total", level, k)
            parts.append(
                f"{name} tiếp nhận {_count(online)} hồ sơ, đạt "
                f"{_pct(figures.rate('online_filing_rate', level, k))} so với tổng số "
                f"{_count(total)} hồ sơ"
            )
        online_lines.append(f"   - {names[k]}: " + "; ".join(parts))
    sections.append(("Hồ sơ tiếp nhận trực tuyến:", online_lines))
    if any(figures.total("mass_mobilization_score", "district", k) for k in keys):
        sections.append(
            (
                "Kết quả đánh giá, xếp loại dân vận chính quyền của huyện:",
                [f"   - {names[k]}: {_evaluation(figures, k, catalog)}" for k in keys],
            )
        )
    for number, (heading, body) in enumerate(sections, start=1):
        lines.append(f"{number}. {heading}")
        lines += body
    years = [p.code for p in figures.periods if not p.quarter]
    if len(years) >= 2:
        lines += ["", "Chú thích (4): " + render_footnote(figures, years[-2], years[-1])]
    return "\n".join(lines) + "\n"


def _evaluation(figures: Figures, key: str, catalog: Catalog) -> str:
    def get(metric: str) -> Decimal | None:
        return figures.total(metric, "district", key)

    score, grade, rank = (
        get("mass_mobilization_score"),
        get("mass_mobilization_grade"),
        get("mass_mobilization_rank"),
    )
    if score is None:
        return "chưa có kết quả"
    text_ = f"đạt {format_vn_score(score)}/100 điểm"
    if grade is not None:
        text_ += f" {catalog.grades.get(int(grade), str(grade))}"
    if rank is not None:
        text_ += f" (Hạng {int(rank)})"
    par, sipas = get("par_index_rank"), get("sipas_rank")
    if par is None and sipas is None:
        text_ += f"; Chỉ số PAR Index, SIPAS: {PENDING}"
    else:
        text_ += (
            f"; Chỉ số PAR Index hạng {int(par) if par is not None else '—'}, "
            f"Chỉ số SIPAS hạng {int(sipas) if sipas is not None else '—'}"
        )
    dismissed = get("civil_servants_dismissed")
    if dismissed:
        text_ += f"; {int(dismissed):02d} trường hợp công chức bị xử lý kỷ luật buộc thôi việc"
    return text_


def approval_section(engine: Engine, period_text: str) -> str:
    """The closing lines on each period's approval and pending corrections."""
    from commune_reports.approvals import render_state, state

    states = [st for p in parse_period_range(period_text) for st in state(engine, p)]
    body = render_state(states)
    return f"\n{body}" if body else ""


def publish(settings: Any, period_text: str) -> Path:
    """Write the text and JSON report of ``period_text`` under ``<home>/reports``."""
    import json

    from commune_reports.warehouse import get_engine

    engine = get_engine(settings.warehouse_url)
    figures = load_figures(engine, period_text)
    settings.reports.mkdir(parents=True, exist_ok=True)
    stem = period_text.replace("..", "_to_")
    rows = json.dumps(figure_rows(figures), ensure_ascii=False, indent=2)
    _replace_file(settings.reports / f"{stem}.json", rows)
    path = settings.reports / f"{stem}.txt"
    _replace_file(path, render_text(figures) + approval_section(engine, period_text))
    return path


def _replace_file(path: Path, content: str) -> None:
    """Write beside, then rename: a reader, or a run publishing the same report at the same
    time, never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)

"""District figures for a period, a year or a range, read from the marts.

Rates are recomputed from summed numerators and denominators (exact decimals), so a range's
rate is never an average of rates and the text matches the official rounding.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, bindparam, text

from commune_reports.catalog import FAR_FUTURE, Catalog, Unit, load_catalog
from commune_reports.checks import FigureCheck, checks_of, load_checks, render_check
from commune_reports.hierarchy import ancestors, parent
from commune_reports.numbers import format_vn_number, format_vn_percent, format_vn_score
from commune_reports.periods import Period, canonical_range, parse_period_range
from commune_reports.prose import render
from commune_reports.warehouse import query

LEVELS = ("commune", "district", "all")
LEVEL_WORDS = {"province": "tỉnh", "district": "huyện", "commune": "xã"}
TEMPLATES = Path(__file__).with_name("templates")


class UnitError(ValueError):
    """The unit asked for does not exist in the periods asked for, or none covers them."""


@dataclass(frozen=True)
class Coverage:
    """Who is behind one figure: units that reported it of those expected, unit-period
    reports received of those expected in the periods loaded, and the periods it is made of
    of those it needs (a year of a quarterly form needs its four quarters)."""

    units_reporting: int
    units_expected: int
    reports_received: int
    reports_expected: int
    periods_included: int
    periods_expected: int = 1

    @property
    def complete(self) -> bool:
        return (
            self.reports_received >= self.reports_expected
            and self.periods_included >= self.periods_expected
        )

    def json(self) -> dict[str, Any]:
        return {
            "units_reporting": self.units_reporting,
            "units_expected": self.units_expected,
            "reports_received": self.reports_received,
            "reports_expected": self.reports_expected,
            "periods_included": self.periods_included,
            "periods_expected": self.periods_expected,
            "complete": self.complete,
        }


@dataclass
class Figures:
    """Sums (metric -> level -> period -> value) and rate parts (rate -> level -> period) of
    one unit of the tree, with who is behind each figure (``coverage``, by (code, level,
    period)) and, for a unit whose children have units of their own (a province's districts),
    the same for each child (``parts``)."""

    periods: list[Period]
    label: str
    totals: dict[str, dict[str, dict[str, Decimal | None]]]
    rates: dict[str, dict[str, dict[str, tuple[Decimal, Decimal]]]]
    caveats: list[str] = field(default_factory=list)
    unit: Unit | None = None
    as_now: bool = False
    coverage: dict[tuple[str, str, str], Coverage] = field(default_factory=dict)
    parts: list[Figures] = field(default_factory=list)
    checks: list[FigureCheck] = field(default_factory=list)
    # (metric, level, period) -> the lowest and highest definition versions of its facts
    definitions: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)

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


def code_list(codes: list[str]) -> str:
    """Period codes as the queries of ``sql/queries`` take a list: between commas."""
    return "," + ",".join(codes) + ","


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def load_figures(
    engine: Engine,
    period_text: str,
    catalog: Catalog | None = None,
    unit: str | None = None,
    as_now: bool = False,
) -> Figures:
    """The figures of one unit (``unit`` is a code; by default the smallest unit whose subtree
    holds every unit that reported) for each period of ``period_text`` and, for a range, the
    range itself, all from the one query the marts use. ``as_now`` maps the facts onto
    today's units through the reform's successor links."""
    catalog = catalog or load_catalog()
    period_text = canonical_range(period_text)
    periods = parse_period_range(period_text)
    codes = [p.code for p in periods]
    with engine.connect() as conn:
        target = _target_unit(conn, catalog, periods, unit, as_now)
        below = _breakdown_units(catalog, target, periods, as_now) if target else []
        rows = []
        if target is not None:
            params = {
                "all_groups": 0,
                "code_list": code_list(codes),
                "range_code": period_text if len(periods) > 1 else "",
                "range_year": periods[0].year,
                "unit_key": target.key,
                "depth": 1 if below else 0,
                "as_now": int(as_now),
            }
            rows = conn.execute(query("figures"), params).all()
        caveats = coverage_caveats(conn, periods, target, as_now)
        # the checks run on the figures as reported; as now they would compare other units
        checks = {
            u.key: load_checks(conn, u.key, code_list(codes))
            for u in ([target, *below] if target is not None and not as_now else [])
        }

    needs = _periods_needed(catalog, periods, period_text)

    def figures_of(of: Unit | None, notes: list[str]) -> Figures:
        mine = [r for r in rows if of is not None and r.unit_key == of.key]
        totals, rates, coverage = _collect(mine, needs)
        found = checks.get(of.key, []) if of is not None else []
        versions = {
            (r.code, r.level, r.period_code): (r.definition_min, r.definition_max)
            for r in mine
            if r.kind == "metric" and r.definition_min is not None
        }
        return Figures(
            periods,
            period_text,
            totals,
            rates,
            notes,
            of,
            as_now,
            coverage,
            checks=found,
            definitions=versions,
        )

    figures = figures_of(target, caveats)
    figures.parts = [figures_of(u, []) for u in below]
    return figures


def _periods_needed(catalog: Catalog, periods: list[Period], label: str) -> Any:
    """(code, period key) -> how many periods a complete figure is made of: one for a period
    of the code's own form, four for a year of a quarterly form, their sum for a range."""
    numerators = {r.code: r.numerator for r in catalog.rates}
    metrics = catalog.metrics_by_code

    def needed(code: str, key: str) -> int:
        metric = metrics.get(numerators.get(code, code))
        if metric is None:
            return 1
        quarterly = catalog.regimes[metric.regime].period_type == "quarter"
        one = {p.code: 4 if quarterly and not p.quarter else 1 for p in periods}
        return sum(one.values()) if key == label and len(periods) > 1 else one.get(key, 1)

    return needed


def _collect(
    rows: list[Any], needed: Any
) -> tuple[dict, dict, dict[tuple[str, str, str], Coverage]]:
    """Rows of ``sql/queries/figures.sql`` for one unit as the dictionaries of Figures."""
    totals: dict[str, dict[str, dict[str, Decimal | None]]] = {}
    rates: dict[str, dict[str, dict[str, tuple[Decimal, Decimal]]]] = {}
    coverage: dict[tuple[str, str, str], Coverage] = {}
    for r in rows:
        coverage[(r.code, r.level, r.period_code)] = Coverage(
            r.units_reporting,
            r.units_expected,
            r.reports_received,
            r.reports_expected,
            r.periods_included,
            needed(r.code, r.period_code),
        )
        if r.kind == "metric":
            totals.setdefault(r.code, {}).setdefault(r.level, {})[r.period_code] = _dec(r.value)
        else:
            rates.setdefault(r.code, {}).setdefault(r.level, {})[r.period_code] = (
                _dec(r.numerator) or Decimal(0),
                _dec(r.denominator) or Decimal(0),
            )
    return totals, rates, coverage


def _breakdown_units(
    catalog: Catalog, target: Unit, periods: list[Period], as_now: bool
) -> list[Unit]:
    """The units directly under ``target`` in the periods that have units of their own (a
    province's districts before the reform), whose figures a report also gives one by one.
    Communes directly under a unit are counted in its caveats, not listed."""
    first, last = periods[0].start, periods[-1].end
    parents = {u.parent_code for u in catalog.units}
    below = []
    for u in catalog.units:
        if u.parent_code != target.code or u.code not in parents:
            continue
        alive = u.valid_to == FAR_FUTURE if as_now else u.valid_from <= last and u.valid_to >= first
        if alive and parent(catalog, u) == target:
            below.append(u)
    return sorted(below, key=lambda u: u.code)


def _target_unit(
    conn: Connection, catalog: Catalog, periods: list[Period], code: str | None, as_now: bool
) -> Unit | None:
    """The unit version a report is about. A code names the version that exists in the
    periods (today's, as now); without one, the smallest unit above every unit with figures
    in the periods (huyện Tháp Mười for the sample), None when nothing was reported."""
    if code is not None:
        days = [dt.date.today()] if as_now else [periods[-1].end, periods[0].end]
        for day in days:
            found = catalog.unit_on(code, day)
            if found is not None and (not as_now or found.valid_to == FAR_FUTURE):
                return found
        when = "hôm nay / today" if as_now else f"{periods[0].code}..{periods[-1].code}"
        raise UnitError(
            f"đơn vị {code} không tồn tại trong kỳ {when} / unit {code} does not exist then"
        )
    keys = conn.execute(
        query("reporting_units"),
        {"code_list": code_list([p.code for p in periods]), "as_now": int(as_now)},
    ).scalars()
    by_key = {u.key: u for u in catalog.units}
    chains = [[by_key[k], *ancestors(catalog, by_key[k])] for k in keys if k in by_key]
    if not chains:
        return None
    common = [u for u in chains[0] if all(u in chain for chain in chains[1:])]
    if not common:
        raise UnitError(
            "các đơn vị báo cáo không thuộc cùng một đơn vị, hãy chọn --unit / "
            "the reporting units have no common parent: choose one with --unit"
        )
    return common[0]


def coverage_caveats(
    conn: Connection, periods: list[Period], unit: Unit | None, as_now: bool = False
) -> list[str]:
    """One line for each figure that is not complete: a form some expected units have not
    sent (accepted, on time or late), or a year whose quarterly forms are not all loaded.
    An official must see this before the figures, never a partial total printed as whole."""
    codes = sorted(
        {p.code for p in periods}
        | {f"{p.year}Q{q}" for p in periods if not p.quarter for q in range(1, 5)}
    )
    rows = []
    if unit is not None:
        rows = conn.execute(
            query("coverage"),
            {"code_list": code_list(codes), "unit_key": unit.key, "as_now": int(as_now)},
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
    """Rows {"metric", "level", "period", "value", "unit", ...} for JSON output (rates in %,
    2 decimals). Each row says who is behind it (units and unit-period reports received of
    those expected, ``complete``), so a reader of the JSON sees a partial figure as one, and
    what the consistency checks found about it (``checks``, empty when nothing). The rows of
    the unit come first, then those of each unit in ``figures.parts``."""
    unit = {"unit": figures.unit.code if figures.unit else None, "as_now": figures.as_now}
    keys = [p.code for p in figures.periods]
    if len(figures.periods) > 1:
        keys.append(figures.label)
    out: list[dict[str, Any]] = []

    parts_of = {r.code: {r.numerator, r.denominator} for r in load_catalog().rates}
    own_code = unit["unit"] or ""

    def row(metric: str, level: str, key: str, value: int | float | None) -> dict[str, Any]:
        who = figures.coverage.get((metric, level, key), Coverage(0, 0, 0, 0, 0))
        made_of = parts_of.get(metric, {metric})
        found = checks_of(figures.checks, made_of, level, key, own_code)
        versions = [figures.definitions.get((m, level, key)) for m in sorted(made_of)]
        spans = [v for v in versions if v is not None]
        return {
            "metric": metric,
            "level": level,
            "period": key,
            "value": value,
            "status": "reported",
            **unit,
            **who.json(),
            "definition_versions": sorted({n for span in spans for n in span}),
            "checks": [c.json() for c in found],
        }

    blank_ok = {m.code for m in load_catalog().metrics if m.may_be_blank}
    for metric, by_level in sorted(figures.totals.items()):
        for level in LEVELS:
            for key in keys:
                value = by_level.get(level, {}).get(key)
                if value is not None:
                    out.append(row(metric, level, key, _number(value)))
                elif metric in blank_ok and key in by_level.get(level, {}):
                    who = figures.coverage.get((metric, level, key))
                    if who is not None and who.units_reporting == 0:
                        # sent blank: the evaluation is still pending (PAR Index, SIPAS)
                        out.append(row(metric, level, key, None) | {"status": "pending"})
    for code in sorted(figures.rates):
        for level in LEVELS:
            for key in keys:
                rate = figures.rate(code, level, key)
                if rate is not None:
                    rounded = rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                    out.append(row(code, level, key, float(rounded)))
    for part in figures.parts:
        out += figure_rows(part)
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
    from commune_reports.footnotes import online_filing

    return online_filing(figures, first, second)


class Section(NamedTuple):
    """One numbered part of a report: its heading and its lines (without their bullet), and
    the metric or rate it is about, by which a document places a footnote about it."""

    heading: str
    lines: list[str]
    metric: str


def report_notes(figures: Figures, catalog: Catalog) -> list[tuple[str, list[str]]]:
    """What an official must read before the figures, as (heading, lines): the caveats of
    incomplete figures, the figures that add up two definitions, the checks' findings."""
    notes: list[tuple[str, list[str]]] = []
    if figures.caveats:
        notes.append(("Lưu ý / Caveat:", list(figures.caveats)))
    mixed = _mixed_definitions(figures, catalog)
    if mixed:
        notes.append(("Định nghĩa chỉ tiêu / Definitions:", mixed))
    if figures.checks:
        notes.append(
            ("Kiểm tra số liệu / Checks:", [render_check(c, catalog) for c in figures.checks])
        )
    return notes


def report_sections(figures: Figures, catalog: Catalog) -> list[Section]:
    """The numbered sections of the report with their figures, in Vietnamese number format:
    what the text report prints and the document sets out."""
    keys = [p.code for p in figures.periods]
    label = figures.label
    names = {p.code: p.label_vi for p in figures.periods}
    unit = figures.unit
    sections: list[Section] = []
    levels = _levels(figures, catalog)
    sessions = figures.total("dissemination_sessions", "all", label)
    detail = [
        f"{names[k]}: {_count(figures.total('dissemination_sessions', 'all', k))} cuộc"
        for k in keys
    ]
    sections.append(
        Section(
            "Số cuộc tuyên truyền, quán triệt về công tác dân vận: " + f"{_count(sessions)} cuộc",
            detail if len(keys) > 1 else [],
            "dissemination_sessions",
        )
    )
    sections.append(
        Section(
            "Tiếp công dân, đối thoại, giải quyết đơn khiếu nại, tố cáo:",
            [
                f"{names[k]}: "
                f"{_count(figures.total('citizen_reception_sessions', 'all', k))} buổi tiếp công "
                f"dân định kỳ; {_count(figures.total('dialogue_sessions', 'all', k))} cuộc đối "
                f"thoại; tiếp nhận {_count(figures.total('complaints_received', 'all', k))} đơn, "
                f"đã giải quyết {_count(figures.total('complaints_resolved', 'all', k))} đơn "
                f"({_pct(figures.rate('complaint_resolution_rate', 'all', k))})"
                for k in keys
            ],
            "citizen_reception_sessions",
        )
    )
    if any(not p.quarter for p in figures.periods):
        sections.append(
            Section(
                "Tỷ lệ đơn vị tổ chức Hội nghị cán bộ, công chức, viên chức:",
                [
                    f"{names[k]}: {_pct(figures.rate('staff_conference_rate', 'all', k))}"
                    for k in keys
                ],
                "staff_conference_rate",
            )
        )
    sections.append(
        Section(
            "Tỷ lệ hồ sơ giải quyết đúng hạn và trước hạn:",
            [
                f"{names[k]}: "
                + ", ".join(
                    f"{words} {_pct(figures.rate('on_time_resolution_rate', level, k))}"
                    for level, words in levels
                )
                for k in keys
            ],
            "on_time_resolution_rate",
        )
    )
    online_lines = []
    for k in keys:
        parts = []
        for level, name in levels:
            online = figures.total("dossiers_received_online", level, k)
            total = figures.total("dossiers_received_total", level, k)
            parts.append(
                f"{name} tiếp nhận {_count(online)} hồ sơ, đạt "
                f"{_pct(figures.rate('online_filing_rate', level, k))} so với tổng số "
                f"{_count(total)} hồ sơ"
            )
        online_lines.append(f"{names[k]}: " + "; ".join(parts))
    sections.append(Section("Hồ sơ tiếp nhận trực tuyến:", online_lines, "online_filing_rate"))
    own = unit.level if unit is not None else "district"
    if any(figures.total("mass_mobilization_score", own, k) for k in keys):
        sections.append(
            Section(
                f"Kết quả đánh giá, xếp loại dân vận chính quyền của {LEVEL_WORDS.get(own, '')}:",
                [f"{names[k]}: {_evaluation(figures, k, catalog, own)}" for k in keys],
                "mass_mobilization_score",
            )
        )
    if figures.parts:
        sections.append(
            Section(
                f"Số liệu của từng đơn vị trực thuộc ({label}) / figures of each unit below:",
                [_part_line(part, levels) for part in figures.parts],
                "",
            )
        )
    return sections


def render_text(figures: Figures, catalog: Catalog | None = None) -> str:
    """The district figures in Vietnamese number format, as an official would write them."""
    catalog = catalog or load_catalog()
    keys = [p.code for p in figures.periods]
    label = figures.label
    names = {p.code: p.label_vi for p in figures.periods}
    unit = figures.unit
    title = "BÁO CÁO SỐ LIỆU CÔNG TÁC DÂN VẬN CHÍNH QUYỀN"
    if unit is not None:
        title += f" — {unit.name.upper()}"
    if figures.as_now:
        title += " (theo đơn vị hành chính hiện nay / as today's units)"
    lines = [
        title,
        f"Kỳ báo cáo: {label} ({names[keys[0]]}"
        + (f" – {names[keys[-1]]})" if len(keys) > 1 else ")"),
        "",
    ]
    for heading, items in report_notes(figures, catalog):
        lines += [heading] + [f"   - {item}" for item in items] + [""]
    for number, section in enumerate(report_sections(figures, catalog), start=1):
        lines.append(f"{number}. {section.heading}")
        lines += [f"   - {line}" for line in section.lines]
    from commune_reports.footnotes import footnotes, summary_sentences

    sentences = summary_sentences(figures, catalog)
    if sentences:
        lines += ["", "Tóm tắt / Summary:"] + [f"   - {line}" for line in sentences]
    notes = footnotes(figures, catalog)
    if notes:
        lines += ["", "Chú thích:"] + [f"{mark} {body}" for mark, body in notes]
    return "\n".join(lines) + "\n"


def _mixed_definitions(figures: Figures, catalog: Catalog) -> list[str]:
    """A line for each figure of the report that adds up facts counted under two or more
    definitions of its metric (a range across a definition change)."""
    template = (TEMPLATES / "definitions_mixed.txt").read_text(encoding="utf-8").strip()
    seen, out = set(), []
    for (metric, _level, key), (low, high) in sorted(figures.definitions.items()):
        if low == high or (metric, key) in seen:
            continue
        seen.add((metric, key))
        label = (
            catalog.metrics_by_code[metric].label if metric in catalog.metrics_by_code else metric
        )
        out.append(template.format(label=label, metric=metric, period=key, low=low, high=high))
    return out


def _levels(figures: Figures, catalog: Catalog) -> list[tuple[str, str]]:
    """The levels a report speaks of ("cấp huyện", "cấp xã"): those of the units under its
    unit in its periods, so a province after the 2025 reform, which has no districts, is not
    given an empty "cấp huyện" line."""
    both = [("district", "cấp huyện"), ("commune", "cấp xã")]
    unit = figures.unit
    if unit is None:
        return both
    first, last = figures.periods[0].start, figures.periods[-1].end
    found = set()
    for u in catalog.units:
        alive = u.valid_to == FAR_FUTURE if figures.as_now else u.valid_from <= last
        if alive and u.valid_to >= first and (u == unit or unit in ancestors(catalog, u)):
            found.add(u.level)
    return [pair for pair in both if pair[0] in found] or both


def _part_line(part: Figures, levels: list[tuple[str, str]]) -> str:
    """One unit below the report's unit (a district of a province) in one line: its sessions,
    citizen receptions, online filing by level and how many of its units reported."""
    key, unit = part.label, part.unit
    name = f"{unit.name} ({unit.code})" if unit is not None else "—"
    online = ", ".join(
        f"{words} {_pct(part.rate('online_filing_rate', level, key))}" for level, words in levels
    )
    who = part.coverage.get(("dissemination_sessions", "all", key))
    reported = f"; {who.units_reporting}/{who.units_expected} đơn vị đã báo cáo" if who else ""
    return (
        f"{name}: {_count(part.total('dissemination_sessions', 'all', key))} cuộc tuyên "
        f"truyền; {_count(part.total('citizen_reception_sessions', 'all', key))} buổi tiếp "
        f"công dân; hồ sơ trực tuyến {online}{reported}"
    )


def _evaluation(figures: Figures, key: str, catalog: Catalog, level: str) -> str:
    """The unit's own evaluation: reported by the unit itself, so read at its own level."""

    def get(metric: str) -> Decimal | None:
        return figures.total(metric, level, key)

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
        text_ += f"; Chỉ số PAR Index, SIPAS: {render('evaluation_pending')}"
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


def stem_of(period_text: str) -> str:
    """The file name stem of a period range's reports: "2021_to_2023", "2023Q4"."""
    return period_text.replace("..", "_to_")


def report_set(
    engine: Engine, period_text: str, catalog: Catalog | None = None
) -> list[tuple[str, Figures]]:
    """The reports a publish writes, as (file stem, figures): the smallest unit above every
    unit that reported (``<stem>``) and, when that is a province, each district under it
    (``<stem>.<code>``) for its own officials."""
    figures = load_figures(engine, period_text, catalog)
    stem = stem_of(period_text)
    return [(stem, figures)] + [
        (f"{stem}.{p.unit.code}", load_figures(engine, period_text, catalog, unit=p.unit.code))
        for p in figures.parts
        if p.unit is not None
    ]


def write_text(
    settings: Any, engine: Engine, period_text: str, reports: list[tuple[str, Figures]]
) -> Path:
    """Write each report of ``reports`` as ``<name>.txt`` and ``<name>.json`` under
    ``<home>/reports``; return the first one's text file."""
    import json

    settings.reports.mkdir(parents=True, exist_ok=True)
    closing = approval_section(engine, period_text)
    for name, one in reports:
        rows = json.dumps(figure_rows(one), ensure_ascii=False, indent=2)
        _replace_file(settings.reports / f"{name}.json", rows)
        _replace_file(settings.reports / f"{name}.txt", render_text(one) + closing)
    return settings.reports / f"{reports[0][0]}.txt"


def publish(settings: Any, period_text: str) -> Path:
    """Write the text and JSON reports of ``period_text`` (:func:`report_set`)."""
    from commune_reports.warehouse import get_engine

    engine = get_engine(settings.warehouse_url)
    return write_text(settings, engine, period_text, report_set(engine, period_text))


def _replace_file(path: Path, content: str) -> None:
    """Write beside, then rename: a reader, or a run publishing the same report at the same
    time, never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)

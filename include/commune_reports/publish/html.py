"""The HTML report of a unit and period range, and a page per unit under it.

Each page is one file with its styles and charts inside (inline CSS and SVG, no script, no
font or CDN link), so it opens offline, from a mail attachment or a shared folder, and prints.
The pages link to each other and to the report's document, text, JSON and Data Docs by
relative paths, so the whole ``reports`` folder can be copied or served as it is.

Layout under ``<home>/reports``::

    <stem>.html                 the report (stem: "2021_to_2023", "2023Q4")
    <stem>.<code>.html          the report of each district of a province's report
    units/<stem>/<code>.html    each unit's page for those periods
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from commune_reports.catalog import Catalog
from commune_reports.checks import checks_of, render_check
from commune_reports.numbers import format_vn_number, format_vn_percent
from commune_reports.publish import pages
from commune_reports.publish.charts import bar_chart
from commune_reports.report import (
    Figures,
    _levels,
    _mixed_definitions,
    report_sections,
    stem_of,
)
from commune_reports.warehouse import utc_seconds

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "html"
LEVEL_ORDER = ("district", "commune", "all")


@cache
def environment() -> Environment:
    """Jinja for HTML: every value escaped unless marked safe (only the charts' SVG is)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass
class Page:
    """One page to write: its path under the reports folder and its HTML."""

    path: Path
    html: str


@dataclass
class Chart:
    key: str
    svg: str
    caption_vi: str
    caption_en: str


@dataclass
class Finding:
    severity: str
    text: str


@dataclass
class Row:
    label: str
    level: str
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return any(c["findings"] for c in self.cells.values())


def unit_page_path(stem: str, code: str) -> Path:
    return Path("units") / stem / f"{code}.html"


def report_pages(
    engine: Engine,
    catalog: Catalog,
    figures: Figures,
    *,
    name: str,
    links: list[tuple[str, str, str]],
    parts: list[tuple[str, str, str]] | None = None,
    batch_links: dict[str, str] | None = None,
    data_docs: str | None = None,
    now: dt.datetime | None = None,
) -> list[Page]:
    """The report page ``<name>.html`` of ``figures`` and the page of each unit under it.
    ``links`` are (relative href, Vietnamese, English) of the files published beside it;
    ``batch_links`` map a batch id to its Data Docs page (relative to the reports folder)."""
    now = now or dt.datetime.now(dt.UTC)
    as_of = utc_seconds(now)
    published = _local_minute(now)
    stem = stem_of(figures.label)
    maps = pages.heatmaps(engine, catalog, figures, as_of)
    units = pages.histories(engine, catalog, figures, maps)
    issuer = _issuer(figures)
    period_label = _period_label(figures)
    report_path = Path(f"{name}.html")

    def unit_href(code: str) -> str:
        return unit_page_path(stem, code).as_posix()

    own_code = figures.unit.code if figures.unit else ""
    report = (
        environment()
        .get_template("report.html.j2")
        .render(
            title=_title(figures),
            issuer=issuer,
            period_label=period_label,
            period_code=figures.label,
            links=links,
            caveats=figures.caveats,
            definitions=_mixed_definitions(figures, catalog),
            sections=report_sections(figures, catalog),
            summary=_summary(figures, catalog),
            footnotes=_footnotes(figures, catalog),
            charts=charts(figures, catalog),
            columns=_columns(figures),
            table=figure_table(figures, catalog),
            unit_findings=[
                Finding(c.severity, render_check(c, catalog))
                for c in figures.checks
                if c.unit_code != own_code
            ],
            as_of=published,
            heatmaps=maps,
            parts=parts or [],
            units=units,
            unit_href=unit_href,
            published_at=published,
        )
    )
    out = [Page(report_path, report)]
    deadlines = {p: d for m in maps for p, d in m.deadlines.items()}
    template = environment().get_template("unit.html.j2")
    for unit in units:
        path = unit_page_path(stem, unit.code)
        up = Path(os.path.relpath(".", path.parent))
        mine = {
            b: (up / href).as_posix()
            for b, href in (batch_links or {}).items()
            if any(f.batch_id == b for files in unit.sent.values() for f in files)
        }
        html = template.render(
            unit=unit,
            issuer=issuer,
            period_label=period_label,
            period_code=figures.label,
            report_href=(up / report_path).as_posix(),
            data_docs_href=(up / data_docs).as_posix() if data_docs else None,
            batch_links=mine,
            deadlines=deadlines,
            published_at=published,
        )
        out.append(Page(path, html))
    return out


def charts(figures: Figures, catalog: Catalog) -> list[Chart]:
    """The sessions by period and each rate by period and level (the levels the report
    speaks of); a rate with no value in any period is left out."""
    keys = [p.code for p in figures.periods]
    names = [p.code for p in figures.periods]
    out = []
    sessions = [figures.total("dissemination_sessions", "all", k) for k in keys]
    if any(v is not None for v in sessions):
        out.append(
            Chart(
                "dissemination_sessions",
                bar_chart(
                    "Số cuộc tuyên truyền, quán triệt về công tác dân vận",
                    names,
                    [("tổng số", "all", sessions)],
                ),
                "Số cuộc tuyên truyền theo kỳ",
                "dissemination sessions by period",
            )
        )
    levels = _levels(figures, catalog)
    for rate in catalog.rates:
        series = [
            (words, level, [figures.rate(rate.code, level, k) for k in keys])
            for level, words in levels
        ]
        series = [s for s in series if any(v is not None for v in s[2])]
        if not series:
            continue
        out.append(
            Chart(
                rate.code,
                bar_chart(rate.label, names, series, percent=True),
                f"{rate.label} theo kỳ và cấp",
                f"{rate.code.replace('_', ' ')} by period and level",
            )
        )
    return out


def figure_table(figures: Figures, catalog: Catalog) -> list[Row]:
    """Every figure of the unit, metric by metric and level by level, one column per period
    (and the range), each with what the checks found about it beside it."""
    columns = [key for key, _ in _columns(figures)]
    own = figures.unit.code if figures.unit else ""
    rows = []
    parts_of = {r.code: {r.numerator, r.denominator} for r in catalog.rates}
    for metric in catalog.metrics:
        by_level = figures.totals.get(metric.code, {})
        for level in LEVEL_ORDER:
            values = by_level.get(level, {})
            if not any(values.get(k) is not None for k in columns):
                continue
            row = Row(metric.label, level)
            for key in columns:
                value = values.get(key)
                if value is not None:
                    found = checks_of(figures.checks, {metric.code}, level, key, own)
                    row.cells[key] = _cell(_number(value), found, catalog)
            rows.append(row)
    for rate in catalog.rates:
        for level in LEVEL_ORDER:
            values = {k: figures.rate(rate.code, level, k) for k in columns}
            if not any(v is not None for v in values.values()):
                continue
            row = Row(rate.label, level)
            for key, value in values.items():
                if value is not None:
                    found = checks_of(figures.checks, parts_of[rate.code], level, key, own)
                    row.cells[key] = _cell(_percent(value), found, catalog)
            rows.append(row)
    return rows


def _cell(text: str, found: list[Any], catalog: Catalog) -> dict[str, Any]:
    return {
        "text": text,
        "findings": [Finding(c.severity, render_check(c, catalog)) for c in found],
    }


def _columns(figures: Figures) -> list[tuple[str, str]]:
    cols = [(p.code, p.label_vi) for p in figures.periods]
    if len(figures.periods) > 1:
        cols.append((figures.label, f"{figures.periods[0].code}–{figures.periods[-1].code}"))
    return cols


def _number(value: Decimal) -> str:
    """A count as officials write it; a score keeps its decimals (95,5), never rounded."""
    digits = max(0, -value.normalize().as_tuple().exponent)
    return format_vn_number(value, min(int(digits), 2))


def _percent(value: Decimal) -> str:
    return format_vn_percent(value.quantize(Decimal("0.01")))


def _summary(figures: Figures, catalog: Catalog) -> list[str]:
    from commune_reports.footnotes import summary_sentences

    return summary_sentences(figures, catalog)


def _footnotes(figures: Figures, catalog: Catalog) -> list[tuple[str, str]]:
    from commune_reports.footnotes import footnotes

    return footnotes(figures, catalog)


def _issuer(figures: Figures) -> str:
    unit = figures.unit
    return f"Ủy ban nhân dân {unit.name}" if unit is not None else "Ủy ban nhân dân"


def _title(figures: Figures) -> str:
    title = "Báo cáo số liệu công tác dân vận chính quyền"
    if figures.unit is not None:
        title += f" — {figures.unit.name}"
    if figures.as_now:
        title += " (theo đơn vị hành chính hiện nay / as today's units)"
    return title


def _period_label(figures: Figures) -> str:
    first, last = figures.periods[0], figures.periods[-1]
    return first.label_vi if first == last else f"{first.label_vi} – {last.label_vi}"


def _local_minute(moment: dt.datetime) -> str:
    from zoneinfo import ZoneInfo

    from commune_reports.periods import TIMEZONE

    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%d/%m/%Y %H:%M")

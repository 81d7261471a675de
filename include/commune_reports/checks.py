"""What the consistency checks (``catalog/checks.csv``, computed with the marts by
``sql/marts/050_figure_checks.sql``) found about a report's figures, and how a report words
it: a swing from a year before (the 2022 -> 2023 commune dossiers of huyện Tháp Mười), a
unit far from its siblings, two forms that do not reconcile, a schedule below the legal
minimum. A ``warn`` is published beside the figure, never silently; a ``block`` holds the
file that breaks it (:mod:`commune_reports.holds`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from commune_reports.catalog import Catalog
from commune_reports.numbers import format_vn_number
from commune_reports.warehouse import query

TEMPLATES = Path(__file__).with_name("templates")
LEVEL_VI = {"all": "mọi cấp", "district": "cấp huyện", "commune": "cấp xã"}


@dataclass(frozen=True)
class FigureCheck:
    """One finding: figure ``metric`` of ``unit_code`` at ``level`` for ``period`` against
    ``reference`` (last year's figure, or the siblings' median) with ``score`` (the change in
    percent, or the modified z-score) beyond ``threshold``."""

    unit_code: str
    unit_name: str
    period: str
    level: str
    code: str
    kind: str
    metric: str
    severity: str
    value: Decimal
    reference: Decimal
    reference_period: str
    score: Decimal
    threshold: Decimal
    definition_version: int | None = None
    reference_definition_version: int | None = None
    reference_metric: str | None = None  # reconcile: the metric compared with

    @property
    def definition_changed(self) -> bool:
        return (
            self.definition_version is not None
            and self.reference_definition_version is not None
            and self.definition_version != self.reference_definition_version
        )

    def json(self) -> dict[str, Any]:
        return {
            "check": self.code,
            "kind": self.kind,
            "severity": self.severity,
            "unit": self.unit_code,
            "metric": self.metric,
            "level": self.level,
            "period": self.period,
            "value": _plain(self.value),
            "reference": _plain(self.reference),
            "reference_period": self.reference_period,
            "reference_metric": self.reference_metric,
            "score": float(self.score),
            "threshold": float(self.threshold),
            "definition_version": self.definition_version,
            "reference_definition_version": self.reference_definition_version,
            "definition_changed": self.definition_changed,
        }


def load_checks(conn: Connection, unit_key: str, codes: str) -> list[FigureCheck]:
    """The findings a report of ``unit_key`` for the periods ``codes`` (between commas)
    shows: its own, and the outliers among the units directly under it."""
    rows = conn.execute(query("report_checks"), {"unit_key": unit_key, "code_list": codes})
    return [
        FigureCheck(
            unit_code=r.unit_code,
            unit_name=r.unit_name,
            period=r.period_code,
            level=r.level,
            code=r.check_code,
            kind=r.kind,
            metric=r.metric_code,
            severity=r.severity,
            value=Decimal(str(r.value)),
            reference=Decimal(str(r.reference)),
            reference_period=r.reference_period,
            score=Decimal(str(r.score)),
            threshold=Decimal(str(r.threshold)),
            definition_version=r.definition_version,
            reference_definition_version=r.reference_definition_version,
            reference_metric=r.reference_metric,
        )
        for r in rows
    ]


def render_check(check: FigureCheck, catalog: Catalog) -> str:
    """One finding in one line, Vietnamese then English (``templates/check_<kind>.txt``)."""
    template = (TEMPLATES / f"check_{check.kind}.txt").read_text(encoding="utf-8").strip()
    metric = catalog.metrics_by_code.get(check.metric)
    other = catalog.metrics_by_code.get(check.reference_metric or "")
    line = template.format(
        period=check.period,
        level=check.level,
        level_vi=LEVEL_VI.get(check.level, check.level),
        unit_code=check.unit_code,
        unit_name=check.unit_name,
        metric=check.metric,
        label=(metric.label if metric else check.metric).lower(),
        reference_metric=check.reference_metric or "",
        reference_label=(other.label if other else check.reference_metric or "").lower(),
        value=_vn(check.value),
        value_en=_en(check.value),
        reference=_vn(check.reference),
        reference_en=_en(check.reference),
        reference_period=check.reference_period,
        score_vi=_vn(check.score, signed=True),
        score_en=_en(check.score, signed=True),
        threshold_vi=_vn(check.threshold),
        threshold_en=_en(check.threshold),
    )
    if check.definition_changed:
        line += " — " + render_definition_change(check, catalog)
    return line


def render_definition_change(check: FigureCheck, catalog: Catalog) -> str:
    """Why a swing may not be one: the two figures count under two definitions."""
    template = (TEMPLATES / "check_definition_changed.txt").read_text(encoding="utf-8").strip()
    now = catalog.definition(check.metric, check.definition_version or 0)
    before = catalog.definition(check.metric, check.reference_definition_version or 0)
    return template.format(
        period=check.period,
        reference_period=check.reference_period,
        version=check.definition_version,
        reference_version=check.reference_definition_version,
        definition_vi=now.definition_vi if now else "?",
        definition_en=now.definition_en if now else "?",
        reference_definition_vi=before.definition_vi if before else "?",
        reference_definition_en=before.definition_en if before else "?",
    )


def checks_of(
    checks: list[FigureCheck], metrics: set[str], level: str, period: str, unit_code: str
) -> list[FigureCheck]:
    """The findings about one figure of ``unit_code`` (made of ``metrics``, e.g. a rate's
    numerator and denominator): its own at its level, and, at level 'all', the outliers among
    the units under it."""
    return [
        c
        for c in checks
        if c.metric in metrics
        and c.period == period
        and (
            (c.unit_code == unit_code and c.level == level)
            or (c.unit_code != unit_code and level == "all")
        )
    ]


def _decimals(value: Decimal) -> int:
    return 0 if value == value.to_integral_value() else 2


def _vn(value: Decimal, signed: bool = False) -> str:
    text = format_vn_number(abs(value) if signed else value, _decimals(value))
    return (("+" if value >= 0 else "−") + text) if signed else text


def _en(value: Decimal, signed: bool = False) -> str:
    text = f"{value:+,.{_decimals(value)}f}" if signed else f"{value:,.{_decimals(value)}f}"
    return text


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)

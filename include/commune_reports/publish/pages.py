"""What the HTML pages show, read from the warehouse: who reported which period (the
completeness heatmap) and, unit by unit, every file sent with every problem found in it.

The statuses are those of ``commune-reports completeness`` (the same query), as of the moment
the pages are published, so the heatmap and the completeness report never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from commune_reports.catalog import Catalog
from commune_reports.completeness import unit_rows
from commune_reports.periods import Period
from commune_reports.report import Figures, code_list
from commune_reports.warehouse import query

STATUSES = ("on_time", "late", "rejected", "missing")
# what a unit that has not reported must still do, by its status in the heatmap
STILL_TO_SEND = ("missing", "rejected")


@dataclass
class Cell:
    """One unit in one period: its completeness status and the file that decided it."""

    status: str
    received_at: str | None = None
    submission_id: str | None = None


@dataclass
class HeatmapRow:
    code: str
    name: str
    level: str
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class Heatmap:
    """Unit × period statuses of one regime; a period a unit did not exist in has no cell."""

    regime: str
    periods: list[str]
    deadlines: dict[str, str]
    rows: list[HeatmapRow]

    def counts(self, period: str) -> dict[str, int]:
        found = [r.cells[period].status for r in self.rows if period in r.cells]
        return {s: found.count(s) for s in STATUSES}


@dataclass
class Sent:
    """One file a unit sent, with everything found wrong in it."""

    submission_id: str
    regime: str
    period: str
    name: str
    received_at: str
    received_via: str | None
    batch_id: str
    status: str
    superseded_by: str | None
    problems: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class UnitHistory:
    """A unit's page: its status per period and its files, period by period."""

    code: str
    name: str
    level: str
    statuses: dict[str, Cell] = field(default_factory=dict)
    sent: dict[str, list[Sent]] = field(default_factory=dict)

    @property
    def still_to_send(self) -> list[str]:
        return [p for p, c in self.statuses.items() if c.status in STILL_TO_SEND]


def reporting_periods(figures: Figures) -> list[Period]:
    """The periods units report in for a report's periods: a year is its four quarters and
    the year itself (the quarterly and the yearly forms)."""
    out: list[Period] = []
    for p in figures.periods:
        out += [Period(p.year, q) for q in (1, 2, 3, 4)] + [p] if not p.quarter else [p]
    return out


def heatmaps(
    engine: Engine,
    catalog: Catalog,
    figures: Figures,
    as_of: dt.datetime,
) -> list[Heatmap]:
    """One heatmap per regime of the units under the report's unit."""
    periods = reporting_periods(figures)
    rows = _rows_under(unit_rows(engine, periods, as_of, catalog), figures, catalog)
    out = []
    for regime in sorted({r["regime"] for r in rows}, key=_regime_order):
        mine = [r for r in rows if r["regime"] == regime]
        codes = [p.code for p in periods if any(r["period_code"] == p.code for r in mine)]
        by_unit: dict[str, HeatmapRow] = {}
        for r in mine:
            row = by_unit.setdefault(
                r["unit_code"], HeatmapRow(r["unit_code"], r["unit_name"], r["level"])
            )
            row.name = r["unit_name"]  # the latest name the unit had in the periods shown
            row.cells[r["period_code"]] = Cell(r["status"], r["received_at"], r["submission_id"])
        deadlines = {r["period_code"]: r["deadline"] for r in mine}
        ordered = sorted(by_unit.values(), key=lambda u: (_level_order(u.level), u.code))
        out.append(Heatmap(regime, codes, deadlines, ordered))
    return out


def histories(
    engine: Engine, catalog: Catalog, figures: Figures, maps: Sequence[Heatmap]
) -> list[UnitHistory]:
    """Every unit of the heatmaps with the files it sent in their periods, oldest first."""
    units: dict[str, UnitHistory] = {}
    for heatmap in maps:
        for row in heatmap.rows:
            unit = units.setdefault(row.code, UnitHistory(row.code, row.name, row.level))
            unit.statuses.update(row.cells)
    if figures.unit is None:
        return list(units.values())
    periods = [p.code for p in reporting_periods(figures)]
    params = {"unit_key": figures.unit.key, "code_list": code_list(periods)}
    with engine.connect() as conn:
        files = [dict(r._mapping) for r in conn.execute(query("unit_submissions"), params)]
        problems: dict[str, list[dict[str, Any]]] = {}
        for r in conn.execute(query("unit_problems"), params):
            item = dict(r._mapping)
            problems.setdefault(item["submission_id"], []).append(item)
    for f in files:
        unit = units.get(f["unit_code"])
        if unit is None:
            continue
        unit.sent.setdefault(f["period_code"], []).append(
            Sent(
                submission_id=f["submission_id"],
                regime=f["regime"] or "",
                period=f["period_code"],
                name=f["original_name"],
                received_at=_local(f["received_at"]),
                received_via=f["received_via"],
                batch_id=f["batch_id"],
                status=f["status"],
                superseded_by=f["superseded_by"],
                problems=problems.get(f["submission_id"], []),
            )
        )
    order = {p: i for i, p in enumerate(periods)}
    for unit in units.values():
        unit.sent = dict(sorted(unit.sent.items(), key=lambda kv: order.get(kv[0], 0)))
    return sorted(units.values(), key=lambda u: (_level_order(u.level), u.code))


def _rows_under(
    rows: list[dict[str, Any]], figures: Figures, catalog: Catalog
) -> list[dict[str, Any]]:
    """The completeness rows of units at or under the report's unit."""
    from commune_reports.hierarchy import ancestors

    target = figures.unit
    if target is None:
        return rows
    under = {u.key for u in catalog.units if u == target or target in ancestors(catalog, u)}
    return [r for r in rows if r["unit_key"] in under]


def _local(value: Any) -> str:
    """A receipt time as the units read it: Asia/Ho_Chi_Minh, to the minute."""
    from zoneinfo import ZoneInfo

    from commune_reports.periods import TIMEZONE

    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(TIMEZONE)).strftime("%d/%m/%Y %H:%M")


def _regime_order(regime: str) -> tuple[int, str]:
    return ({"quarterly": 0, "yearly": 1}.get(regime, 2), regime)


def _level_order(level: str) -> int:
    return {"province": 0, "district": 1, "commune": 2}.get(level, 3)

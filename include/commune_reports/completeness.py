"""Who has reported, as of a moment: per expected unit on_time / late / rejected / missing,
and reporting and on-time rates per level that can never exceed 100%.

The rows come from ``sql/queries/completeness.sql``, the same query the completeness mart
stores; here it runs with an ``as_of`` so a past day can be replayed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, text

from commune_reports.catalog import Catalog, load_catalog
from commune_reports.hierarchy import ancestors
from commune_reports.periods import TIMEZONE, Period
from commune_reports.warehouse import (
    ensure_schema,
    query_text,
    register_periods,
    utc_seconds,
    writing,
)

LEVELS = ("commune", "district", "all")
NOT_REPORTED = ("missing", "rejected")


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second of ``day`` in Asia/Ho_Chi_Minh, in UTC: "as of 2023-12-18" counts
    everything received that day."""
    local = dt.datetime.combine(day, dt.time(23, 59, 59), ZoneInfo(TIMEZONE))
    return utc_seconds(local)


def regimes_of(period: Period, catalog: Catalog) -> list[str]:
    return [r.code for r in catalog.regimes.values() if r.period_type == period.period_type]


def unit_rows(
    engine: Engine,
    periods: Sequence[Period],
    as_of: dt.datetime,
    catalog: Catalog | None = None,
) -> list[dict[str, Any]]:
    """Every expected unit of every regime of ``periods``, with its status as of ``as_of`` and,
    for a unit whose files were all rejected, the problems of its latest file."""
    catalog = catalog or load_catalog()
    if not periods:
        return []
    ensure_schema(engine, catalog)
    pairs = [(regime, p) for p in periods for regime in regimes_of(p, catalog)]
    with writing(engine) as conn:
        register_periods(conn, pairs, catalog)
    codes = sorted({p.code for p in periods})
    query = text(
        f"SELECT * FROM ({query_text('completeness')}) AS q WHERE q.period_code IN :codes "
        "ORDER BY q.regime, q.period_code, q.level, q.unit_code"
    ).bindparams(bindparam("codes", expanding=True))
    with engine.connect() as conn:
        params = {
            "as_of": as_of,
            "codes": codes,
            "all_groups": 0,
            "code_list": f",{','.join(codes)},",
        }
        rows = [dict(r._mapping) for r in conn.execute(query, params)]
        rejected = [r["submission_id"] for r in rows if r["status"] == "rejected"]
        problems: dict[str, list[dict[str, Any]]] = {}
        if rejected:
            for r in conn.execute(
                text(
                    "SELECT submission_id, rule, sheet, cell, message_vi, message_en "
                    "FROM submission_errors WHERE submission_id IN :ids ORDER BY submission_id, seq"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": rejected},
            ):
                item = dict(r._mapping)
                problems.setdefault(item.pop("submission_id"), []).append(item)
    for row in rows:
        row["deadline"] = str(row["deadline"])[:10]
        row["received_at"] = _iso(row["received_at"])
        row["problems"] = (
            problems.get(row["submission_id"], []) if row["status"] == "rejected" else []
        )
    return rows


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value).replace(" ", "T")


def _pct(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(100) * part / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def rates(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Counts and rates per level; numerators are subsets of the expected units."""
    out = {}
    for level in LEVELS:
        mine = [r for r in rows if level == "all" or r["level"] == level]
        counts = {
            s: sum(r["status"] == s for r in mine) for s in ("on_time", "late", *NOT_REPORTED)
        }
        expected = len(mine)
        reported = counts["on_time"] + counts["late"]
        out[level] = {
            "expected": expected,
            **counts,
            "reporting_rate": _pct(reported, expected),
            "on_time_rate": _pct(counts["on_time"], expected),
        }
    return out


def completeness_report(
    engine: Engine,
    period: Period,
    as_of: dt.datetime,
    catalog: Catalog | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """JSON of ``commune-reports completeness``: per regime, each expected unit, the rates;
    with ``unit`` (a code), only the units under it (a district's communes and agencies, a
    province's communes), as it stood at the end of the period."""
    catalog = catalog or load_catalog()
    rows = unit_rows(engine, [period], as_of, catalog)
    if unit is not None:
        target = catalog.unit_on(unit, period.end)
        if target is None:
            raise ValueError(
                f"đơn vị {unit} không tồn tại trong kỳ {period.code} / "
                f"unit {unit} does not exist in {period.code}"
            )
        under = {u.key for u in catalog.units if u == target or target in ancestors(catalog, u)}
        rows = [r for r in rows if r["unit_key"] in under]
    regimes = []
    for regime in regimes_of(period, catalog):
        mine = [r for r in rows if r["regime"] == regime]
        regimes.append(
            {
                "regime": regime,
                "deadline": mine[0]["deadline"] if mine else None,
                "units": [
                    {
                        "code": r["unit_code"],
                        "name": r["unit_name"],
                        "level": r["level"],
                        "status": r["status"],
                        "received_at": r["received_at"],
                        "submission_id": r["submission_id"],
                        "problems": r["problems"],
                    }
                    for r in mine
                ],
                "rates": rates(mine),
            }
        )
    return {
        "period": period.code,
        "as_of": as_of.isoformat(),
        "unit": unit,
        "regimes": regimes,
    }


def render_text(report: dict[str, Any]) -> str:
    """The completeness report for a terminal, Vietnamese labels with English in brackets."""
    names = {
        "on_time": "đúng hạn (on time)",
        "late": "trễ hạn (late)",
        "rejected": "bị từ chối (rejected)",
        "missing": "chưa gửi (missing)",
    }
    lines = [f"Tình hình gửi báo cáo kỳ {report['period']} (as of {report['as_of']})"]
    for regime in report["regimes"]:
        lines.append(f"\n[{regime['regime']}] hạn gửi / deadline {regime['deadline']}")
        for u in regime["units"]:
            lines.append(f"  {u['code']:<9} {u['name']:<42} {names[u['status']]}")
            for p in u["problems"]:
                where = "!".join(x for x in (p["sheet"], p["cell"]) if x)
                lines.append(f"            [{where}] {p['message_vi']} / {p['message_en']}")
        for level, r in regime["rates"].items():
            lines.append(
                f"  {level:<9} {r['on_time'] + r['late']}/{r['expected']} đã gửi (reported) "
                f"{r['reporting_rate']}%, đúng hạn (on time) {r['on_time_rate']}%"
            )
    return "\n".join(lines) + "\n"

"""Deterministic sample figures for every unit, 2021Q1-2023Q4 and the years 2021-2023.

The district totals reproduce the Tháp Mười report of February 2024 exactly (256 sessions,
2.384 / 4.727 online dossiers at district level in 2022, ...). Figures the report does not
give (each commune's share, 2021 dossiers, the 2021 rank) are invented but plausible.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from commune_reports.catalog import Catalog, Unit, load_catalog
from commune_reports.periods import Period

YEARS = (2021, 2022, 2023)
DISSEMINATION_TOTAL = 256
# (year, level) -> (online dossiers, all dossiers received): 2022 and 2023 from the report.
DOSSIERS = {
    (2021, "district"): (1_102, 4_415),
    (2021, "commune"): (9_870, 44_120),
    (2022, "district"): (2_384, 4_727),
    (2022, "commune"): (16_021, 45_998),
    (2023, "district"): (3_447, 4_162),
    (2023, "commune"): (18_888, 27_021),
}
EVALUATION: dict[int, dict[str, Decimal | int | None]] = {
    2021: {
        "mass_mobilization_score": Decimal("95.5"),
        "mass_mobilization_grade": 2,
        "mass_mobilization_rank": 9,  # not in the report: invented
        "par_index_rank": 6,
        "sipas_rank": 1,
        "civil_servants_dismissed": 1,
    },
    2022: {
        "mass_mobilization_score": Decimal("96"),
        "mass_mobilization_grade": 1,
        "mass_mobilization_rank": 7,
        "par_index_rank": 4,
        "sipas_rank": 3,
        "civil_servants_dismissed": 0,
    },
    2023: {
        "mass_mobilization_score": Decimal("97.05"),
        "mass_mobilization_grade": 1,
        "mass_mobilization_rank": 5,
        "par_index_rank": None,  # pending
        "sipas_rank": None,
        "civil_servants_dismissed": 0,
    },
}


def split(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` into integers that add up exactly
    (largest remainder, ties to the earlier item)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def reporting_units(catalog: Catalog) -> list:
    day = dt.date(2023, 12, 31)
    return [u for u in catalog.units_valid_on(day) if catalog.regimes_of_unit(u)]


def sample_values(catalog: Catalog | None = None) -> dict[tuple[str, str], dict[str, object]]:
    """(unit code, period code) -> metric values, for every form of 2021-2023."""
    catalog = catalog or load_catalog()
    units = reporting_units(catalog)
    quarters = [Period(y, q) for y in YEARS for q in range(1, 5)]
    out: dict[tuple[str, str], dict[str, object]] = {}
    quarterly = [u for u in units if catalog.regime_for(u, "quarter") == "quarterly"]
    # dissemination: one session per unit and quarter, the rest spread evenly
    cells = [(u.code, p.code) for p in quarters for u in quarterly]
    extra = DISSEMINATION_TOTAL - len(cells)
    picks = {cells[(i * len(cells)) // extra] for i in range(extra)}
    for cell in cells:
        out.setdefault(cell, {})["dissemination_sessions"] = 1 + (cell in picks)
    for u in quarterly:
        metrics = {m.code for m in catalog.form_metrics("quarterly", u)}
        seed = int("".join(ch for ch in u.code if ch.isdigit()) or "0")
        for p in quarters:
            values = out[(u.code, p.code)]
            if "citizen_reception_sessions" in metrics:
                values["citizen_reception_sessions"] = (
                    6 if u.code == "872-VP" else 12 + p.quarter % 2
                )
            if "dialogue_sessions" in metrics:
                values["dialogue_sessions"] = 1 + (seed + p.quarter) % 2
            if "complaints_received" in metrics:
                received = 3 + (seed * 7 + p.quarter * 3 + p.year) % 9
                values["complaints_received"] = received
                values["complaints_resolved"] = received - (seed + p.quarter) % 2
    for year in YEARS:
        for level in ("district", "commune"):
            online, total = DOSSIERS[(year, level)]
            filers = [
                u
                for u in quarterly
                if u.level == level
                and "dossiers_received_total"
                in {m.code for m in catalog.form_metrics("quarterly", u)}
            ]
            slots = [(u, q) for u in filers for q in range(1, 5)]
            weights = [
                (50 + (int("".join(c for c in u.code if c.isdigit())) * 13 + q * 7) % 40) * (9 + q)
                for u, q in slots
            ]
            totals = split(total, weights)
            onlines = split(online, weights)
            for (u, q), t, o in zip(slots, totals, onlines, strict=True):
                assert o <= t, "sample online dossiers must not exceed the total"
                resolved = t - t // 50
                values = out[(u.code, Period(year, q).code)]
                values["dossiers_received_total"] = t
                values["dossiers_received_online"] = o
                values["dossiers_resolved_total"] = resolved
                values["dossiers_resolved_on_time"] = resolved - resolved // 300
    for year in YEARS:
        quarters_of = [Period(year, q).code for q in range(1, 5)]
        for u in units:
            regime = catalog.regime_for(u, "year")
            if regime == "yearly":
                out[(u.code, str(year))] = _yearly(catalog, u, out, quarters_of)
            elif regime == "evaluation":
                out[(u.code, str(year))] = dict(EVALUATION[year])
        # the agencies' own count of the dossiers of their fields adds up to the desk's
        agencies = [
            u
            for u in units
            if catalog.metrics_by_code["agency_dossiers_resolved_year"].required_for(u)
        ]
        desk = sum(
            int(str(out[(u.code, q)].get("dossiers_resolved_total", 0)))
            for u in quarterly
            if u.level == "district"
            for q in quarters_of
        )
        for u, part in zip(agencies, split(desk, [3, 2, 1, 2, 1][: len(agencies)]), strict=True):
            out[(u.code, str(year))]["agency_dossiers_resolved_year"] = part
    return out


def _yearly(
    catalog: Catalog, unit: Unit, out: dict[tuple[str, str], dict[str, object]], quarters: list[str]
) -> dict[str, object]:
    """A yearly form: the staff conference, the reception schedule (the legal minimum: the
    chairman 2 days a month, the heads 1 day a week), every procedure at the one-stop desk,
    and the year's dossiers restated as the four quarters add them up."""
    codes = {m.code for m in catalog.form_metrics("yearly", unit)}
    values: dict[str, object] = {"staff_conference_held": 1}
    if "chairman_reception_per_month" in codes:
        values["chairman_reception_per_month"] = 2
    if "head_reception_days_per_week" in codes:
        values["head_reception_days_per_week"] = 1
    if "procedures_in_scope" in codes:
        procedures = 265 if unit.level == "district" else 128
        values["procedures_in_scope"] = procedures
        values["procedures_at_one_stop"] = procedures
    if "dossiers_received_year" in codes:
        values["dossiers_received_year"] = sum(
            int(str(out[(unit.code, q)]["dossiers_received_total"])) for q in quarters
        )
    return values

"""The footnotes and summary sentences of a multi-year report, in the seed report's wording
(templates in ``templates/prose``, hedging rules in :mod:`commune_reports.prose`), each filled
from the figures of the report's unit."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from commune_reports.catalog import Catalog, load_catalog
from commune_reports.prose import PEERS, floor_pct, out_of_100, pct, render

if TYPE_CHECKING:
    from commune_reports.report import Figures

LEVEL_WORD = {"province": "tỉnh", "district": "huyện", "commune": "xã"}
SUPERSCRIPT = {1: "¹", 3: "³", 4: "⁴", 5: "⁵"}


def online_filing(figures: Figures, first: str, second: str) -> str:
    """Footnote 4: online dossiers and their share, by level, for two years."""
    fields: dict[str, object] = {"y1": first, "y2": second}
    for tag, year in (("y1", first), ("y2", second)):
        for level in ("district", "commune"):
            fields[f"{tag}_{level}_online"] = figures.total("dossiers_received_online", level, year)
            fields[f"{tag}_{level}_rate"] = figures.rate("online_filing_rate", level, year)
    return render("footnote_4", **fields)


def footnotes(figures: Figures, catalog: Catalog) -> list[tuple[str, str]]:
    """(mark, text) of footnotes 1, 3, 4 and 5 for a report of two years or more; a footnote
    whose figures are all missing is left out."""
    years = [p.code for p in figures.periods if not p.quarter]
    if len(years) < 2 or figures.unit is None:
        return []
    own = figures.unit.level
    word = LEVEL_WORD.get(own, "")
    out: list[tuple[str, str]] = []
    sessions = figures.total("dissemination_sessions", "all", figures.label)
    if sessions is not None:
        out.append(
            (
                SUPERSCRIPT[1],
                render("footnote_1", unit_word=word, years=len(years), sessions=sessions),
            )
        )

    def get(metric: str, year: str) -> Decimal | None:
        return figures.total(metric, own, year)

    scored = []
    for year in years:
        score = get("mass_mobilization_score", year)
        if score is None:
            continue
        grade = get("mass_mobilization_grade", year)
        rank = get("mass_mobilization_rank", year)
        scored.append(
            {
                "year": year,
                "score": score,
                "out_of": out_of_100(score),
                "grade": catalog.grades.get(int(grade), str(grade)) if grade is not None else "",
                "rank": int(rank) if rank is not None else None,
                "dismissed": int(get("civil_servants_dismissed", year) or 0),
            }
        )
    if scored:
        out.append(
            (
                SUPERSCRIPT[3],
                render(
                    "footnote_3",
                    years=scored,
                    level_word=f"cấp {word}",
                    peers=PEERS.get(own, "trong tỉnh"),
                ),
            )
        )
    if all(
        figures.total("dossiers_received_online", lv, y) is not None
        for lv in ("district", "commune")
        for y in years[-2:]
    ):
        out.append((SUPERSCRIPT[4], online_filing(figures, years[-2], years[-1])))
    ranked, pending = [], []
    for year in years:
        if get("mass_mobilization_score", year) is None:
            continue  # no evaluation loaded for the year
        par, sipas = get("par_index_rank", year), get("sipas_rank", year)
        if par is None and sipas is None:
            pending.append(year)
        else:
            ranked.append({"year": year, "par": _rank(par), "sipas": _rank(sipas)})
    if ranked or pending:
        out.append((SUPERSCRIPT[5], render("footnote_5", ranked=ranked, pending=pending)))
    return out


def _rank(value: Decimal | None) -> str:
    return "—" if value is None else str(int(value))


def summary_sentences(figures: Figures, catalog: Catalog | None = None) -> list[str]:
    """The sentences the seed writes over all the years: the staff conferences ("Hằng năm,
    có 100% đơn vị…"), the reception schedule ("… 2 lần/tháng; … 1 ngày/tuần"), the
    procedures at the one-stop desks ("Đến nay, 100% thủ tục hành chính…") and the on-time
    dossiers ("… đạt trên 99%")."""
    years = [p.code for p in figures.periods if not p.quarter]
    if len(years) < 2:
        return []
    catalog = catalog or load_catalog()
    out = []
    conference = [figures.rate("staff_conference_rate", "all", y) for y in years]
    if all(c is not None for c in conference):
        if len(set(conference)) == 1:
            out.append(render("staff_conference", every_year=True, rate=pct(conference[0])))
        else:
            rows = [{"year": y, "rate": pct(c)} for y, c in zip(years, conference, strict=True)]
            out.append(render("staff_conference", every_year=False, years=rows))
    on_time = [
        figures.rate("on_time_resolution_rate", level, y)
        for y in years
        for level in ("district", "commune")
    ]
    reception = citizen_reception(figures, catalog, years)
    if reception:
        out.append(reception)
    one_stop = one_stop_share(figures, years)
    if one_stop:
        out.append(one_stop)
    if all(v is not None for v in on_time):
        out.append(render("on_time", phrase=floor_pct(on_time)))
    return out


def _lowest(figures: Figures, metric: str, level: str, years: list[str]) -> Decimal | None:
    """The lowest of a schedule over the years: what was held at least every year."""
    found = [v for y in years if (v := figures.total(metric, level, y)) is not None]
    return min(found) if found else None


def citizen_reception(figures: Figures, catalog: Catalog, years: list[str]) -> str | None:
    """The reception schedule of the chairman, the agency heads and the commune chairmen:
    each the lowest over the years and units; the heads of both levels in one phrase when
    they agree, as the seed writes it. "thực hiện tốt quy định" when each part meets its
    legal minimum (a ``minimum`` rule of checks.csv, for the units of its level), else the
    part below it says so."""
    if figures.unit is None:
        return None
    word = LEVEL_WORD.get(figures.unit.level, "")
    chairman = _lowest(figures, "chairman_reception_per_month", "all", years)
    agencies = _lowest(figures, "head_reception_days_per_week", "district", years)
    communes = _lowest(figures, "head_reception_days_per_week", "commune", years)
    commune_words = _commune_words(figures, catalog)
    parts: list[dict[str, object]] = []
    if chairman is not None:
        who = f"Chủ tịch UBND {word}"
        parts.append(_part(catalog, who, chairman, "lần/tháng", "chairman_reception_per_month", ""))
    heads = "head_reception_days_per_week"
    if agencies is not None and communes is not None and agencies == communes:
        who = f"Thủ trưởng ngành {word}, Chủ tịch UBND các {commune_words}"
        parts.append(_part(catalog, who, communes, "ngày/tuần", heads, "commune"))
    else:
        if agencies is not None:
            parts.append(
                _part(catalog, f"Thủ trưởng ngành {word}", agencies, "ngày/tuần", heads, "district")
            )
        if communes is not None:
            who = f"Chủ tịch UBND các {commune_words or 'xã'}"
            parts.append(_part(catalog, who, communes, "ngày/tuần", heads, "commune"))
    if not parts:
        return None
    return render(
        "citizen_reception",
        kept=not any(p["minimum"] is not None for p in parts),
        unit_word=word,
        parts=parts,
    )


def _part(
    catalog: Catalog, who: str, value: Decimal, per: str, metric: str, level: str
) -> dict[str, object]:
    """One phrase of the schedule, with the legal minimum it falls short of (else None)."""
    rules = [
        c
        for c in catalog.checks
        if c.kind == "minimum" and c.metric_code == metric and c.level in ("", level)
    ]
    low = Decimal(str(rules[0].threshold)) if rules else None
    return {
        "who": who,
        "value": value,
        "per": per,
        "minimum": low if low is not None and value < low else None,
    }


COMMUNE_WORDS = {"xa": "xã", "phuong": "phường", "thi_tran": "thị trấn"}


def _commune_words(figures: Figures, catalog: Catalog) -> str:
    """How the report names its commune-level units: "xã, thị trấn" for a district with a
    town, "xã, phường" after the reform."""
    if figures.unit is None:
        return ""
    first = min(p.start for p in figures.periods)
    last = max(p.end for p in figures.periods)
    below, todo = set(), [figures.unit.code]
    while todo:
        code = todo.pop()
        for u in catalog.units:
            if u.parent_code == code and u.valid_from <= last and u.valid_to >= first:
                below.add(u)
                todo.append(u.code)
    kinds = {u.unit_type for u in below if u.level == "commune"}
    return ", ".join(word for kind, word in COMMUNE_WORDS.items() if kind in kinds)


def one_stop_share(figures: Figures, years: list[str]) -> str | None:
    """ "Đến nay" (the report's latest year with the figure): the share of the procedures of
    the unit's levels received and returned at the one-stop desks, written exactly."""
    for year in reversed(years):
        rate = figures.rate("one_stop_procedure_rate", "all", year)
        if rate is None:
            continue
        levels = [
            LEVEL_WORD[lv]
            for lv in ("district", "commune")
            if figures.rate("one_stop_procedure_rate", lv, year) is not None
        ]
        return render("one_stop", rate=pct(rate), levels=", ".join(levels))
    return None

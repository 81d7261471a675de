"""The footnotes and summary sentences of a multi-year report, in the seed report's wording
(templates in ``templates/prose``, hedging rules in :mod:`commune_reports.prose`), each filled
from the figures of the report's unit."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from commune_reports.catalog import Catalog
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


def summary_sentences(figures: Figures) -> list[str]:
    """The two sentences the seed writes over all the years: the staff conferences
    ("Hằng năm, có 100% đơn vị…") and the on-time dossiers ("… đạt trên 99%")."""
    years = [p.code for p in figures.periods if not p.quarter]
    if len(years) < 2:
        return []
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
    if all(v is not None for v in on_time):
        out.append(render("on_time", phrase=floor_pct(on_time)))
    return out

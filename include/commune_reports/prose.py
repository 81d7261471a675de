"""The report's sentences in the district's own wording, from Jinja templates
(``templates/prose/*.j2``) filled with figures from the warehouse.

The hedging words follow fixed rules, so the same figures always give the same words:

- ``at_least`` ("hơn N"): a count of activities summed over several years, as the district
  writes such totals (footnote 1: "hơn 256 cuộc").
- ``floor_pct`` ("đạt trên F%" / "đạt X%"): several rates summed up in one sentence (years
  and levels): "đạt X%" when they are all X; otherwise "đạt trên F%", F the largest whole
  percent below the lowest of them ("trên 99%" for 99,70% and 99,85%); "đạt F%" if the
  lowest is F.
- "đạt" before a single score or rate ("đạt 50,43%", "đạt 96/100 điểm"); a score with at most
  one decimal is written out of 100 ("95,5/100 điểm"), one with two decimals alone
  ("97,05 điểm"), as the district writes them.
- A schedule (citizen reception, "2 lần/tháng", "1 ngày/tuần") is the lowest value over the
  report's years and units (metrics aggregated by ``min``): what every one of them held at
  least. "thực hiện tốt quy định" is written only when each part meets its legal minimum
  (the ``minimum`` rules of ``catalog/checks.csv``); a part below it says "(dưới mức quy
  định N …)".
- A share that is "current" ("Đến nay, 100% thủ tục hành chính…") is the report's latest
  year with the figure, written exactly.
- An evaluation still pending (PAR Index and SIPAS ranks left blank in the province's form)
  is "đang chờ kết quả thẩm định của tỉnh".
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from commune_reports.numbers import format_vn_number, format_vn_percent, format_vn_score

PROSE = Path(__file__).with_name("templates") / "prose"
PEERS = {"district": "các huyện, thành phố trong tỉnh", "commune": "các xã, phường trong tỉnh"}


def pct(value: Decimal | float | None) -> str:
    """A rate as the report prints it: "50,43%", a whole one "100%"."""
    if value is None:
        return "—"
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return format_vn_percent(number, 0)
    return format_vn_percent(number)


def at_least(value: Decimal | float | int | None) -> str:
    """A summed count of activities: "hơn 256"."""
    return "—" if value is None else f"hơn {format_vn_number(value)}"


def floor_pct(values: list[Decimal]) -> str:
    """Several rates in one phrase, after "đạt": "100%" when all are 100%, "trên 99%"."""
    known = [Decimal(str(v)) for v in values if v is not None]
    if not known:
        return "—"
    low = min(known)
    if all(v == low for v in known):
        return pct(low)
    floor = Decimal(math.floor(low))
    return f"trên {pct(floor)}" if low > floor else pct(floor)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PROSE),
        undefined=StrictUndefined,
        autoescape=False,  # plain text for a report, not HTML
        keep_trailing_newline=False,
    )
    env.filters.update(
        vn=lambda v: "—" if v is None else format_vn_number(v),
        pct=pct,
        score=format_vn_score,
        two=lambda v: f"{int(v):02d}",
        hedged=at_least,
        floor_pct=floor_pct,
    )
    return env


def render(name: str, **fields: Any) -> str:
    """Template ``name`` (without ``.txt.j2``) filled with ``fields``, on one line."""
    text = environment().get_template(f"{name}.txt.j2").render(**fields)
    return " ".join(text.split())


def out_of_100(score: Decimal) -> bool:
    """Whether a score is written "/100" (at most one decimal), as the district does."""
    return Decimal(str(score)).normalize().as_tuple().exponent >= -1

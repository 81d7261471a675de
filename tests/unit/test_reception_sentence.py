"""The reception sentence's rule: the seed's wording when every schedule meets its legal
minimum (the district chairman 2 days a month, a commune chairman 1 day a week); the agency
heads and the commune chairmen in one phrase only when they agree; a shortfall said."""

from __future__ import annotations

from decimal import Decimal

from commune_reports.catalog import load_catalog
from commune_reports.footnotes import citizen_reception
from commune_reports.periods import parse_period
from commune_reports.report import Figures

YEARS = ["2022", "2023"]


def _figures(chairman: int, agencies: int, communes: int) -> Figures:
    catalog = load_catalog()
    totals = {
        "chairman_reception_per_month": {"all": dict.fromkeys(YEARS, Decimal(chairman))},
        "head_reception_days_per_week": {
            "district": dict.fromkeys(YEARS, Decimal(agencies)),
            "commune": {"2022": Decimal(communes + 1), "2023": Decimal(communes)},
        },
    }
    unit = catalog.unit_on("872", parse_period("2023").end)
    return Figures([parse_period(y) for y in YEARS], "2022..2023", totals, {}, unit=unit)


def test_the_seed_wording_when_the_law_is_kept() -> None:
    assert citizen_reception(_figures(2, 1, 1), load_catalog(), YEARS) == (
        "Huyện thực hiện tốt quy định Chủ tịch UBND huyện tiếp công dân định kỳ 2 lần/tháng; "
        "Thủ trưởng ngành huyện, Chủ tịch UBND các xã, thị trấn tiếp công dân định kỳ 1 "
        "ngày/tuần."
    )


def test_a_shortfall_is_said_and_different_schedules_apart() -> None:
    # the lowest year counts (2023: 0); the agency heads' law is a day a month: 0 a week is
    # no shortfall in days a week
    assert citizen_reception(_figures(1, 0, 0), load_catalog(), YEARS) == (
        "Chủ tịch UBND huyện tiếp công dân định kỳ 1 lần/tháng (dưới mức quy định 2 lần/tháng); "
        "Thủ trưởng ngành huyện, Chủ tịch UBND các xã, thị trấn tiếp công dân định kỳ 0 "
        "ngày/tuần (dưới mức quy định 1 ngày/tuần)."
    )
    assert citizen_reception(_figures(2, 2, 1), load_catalog(), YEARS) == (
        "Huyện thực hiện tốt quy định Chủ tịch UBND huyện tiếp công dân định kỳ 2 lần/tháng; "
        "Thủ trưởng ngành huyện tiếp công dân định kỳ 2 ngày/tuần; Chủ tịch UBND các xã, thị "
        "trấn tiếp công dân định kỳ 1 ngày/tuần."
    )
    assert citizen_reception(_figures(2, 0, 1), load_catalog(), YEARS) == (
        "Huyện thực hiện tốt quy định Chủ tịch UBND huyện tiếp công dân định kỳ 2 lần/tháng; "
        "Thủ trưởng ngành huyện tiếp công dân định kỳ 0 ngày/tuần; Chủ tịch UBND các xã, thị "
        "trấn tiếp công dân định kỳ 1 ngày/tuần."
    )

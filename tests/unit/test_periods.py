import datetime as dt

import pytest

from commune_reports.catalog import load_catalog
from commune_reports.periods import (
    Period,
    cutoff_window,
    deadline,
    parse_label_vi,
    parse_period,
    parse_period_range,
    period_due_before,
)

REGIMES = load_catalog().regimes


def test_decree_09_windows() -> None:
    q4 = parse_period("2023Q4")
    assert cutoff_window(q4, REGIMES["quarterly"]) == (dt.date(2023, 9, 15), dt.date(2023, 12, 14))
    q1 = parse_period("2024Q1")
    assert cutoff_window(q1, REGIMES["quarterly"]) == (dt.date(2023, 12, 15), dt.date(2024, 3, 14))
    year = parse_period("2023")
    assert cutoff_window(year, REGIMES["yearly"]) == (dt.date(2022, 12, 15), dt.date(2023, 12, 14))


def test_deadline_counts_working_days() -> None:
    # 14 Dec 2023 is a Thursday: +2 working days = Monday 18 Dec
    assert deadline(parse_period("2023Q4"), REGIMES["quarterly"]) == dt.date(2023, 12, 18)
    # 14 Jun 2024 is a Friday: Monday 17, Tuesday 18
    assert deadline(parse_period("2024Q2"), REGIMES["quarterly"]) == dt.date(2024, 6, 18)


def test_scheduled_run_closes_the_period_just_due() -> None:
    assert period_due_before(dt.date(2023, 12, 20), REGIMES["quarterly"]) == Period(2023, 4)
    assert period_due_before(dt.date(2023, 12, 17), REGIMES["quarterly"]) == Period(2023, 3)
    assert period_due_before(dt.date(2023, 12, 20), REGIMES["yearly"]) == Period(2023, 0)
    assert period_due_before(dt.date(2024, 4, 1), REGIMES["evaluation"]) == Period(2023, 0)


def test_ranges_and_codes() -> None:
    assert [p.code for p in parse_period_range("2021..2023")] == ["2021", "2022", "2023"]
    quarters = parse_period_range("2021Q3..2022Q2")
    assert [p.code for p in quarters] == ["2021Q3", "2021Q4", "2022Q1", "2022Q2"]
    assert len(parse_period_range("2021Q1..2023Q4")) == 12
    with pytest.raises(ValueError):
        parse_period_range("2023..2021Q1")
    with pytest.raises(ValueError):
        parse_period("2023Q5")


def test_title_line() -> None:
    assert parse_label_vi("Kỳ báo cáo: Quý IV/2023") == Period(2023, 4)
    assert parse_label_vi("Kỳ báo cáo: Năm 2022") == Period(2022, 0)
    assert parse_label_vi("Quý I / 2021") == Period(2021, 1)

"""Reporting periods: codes ("2023Q4", "2023"), ranges ("2021..2023"), Decree 09 windows.

Data cut-off windows are not calendar periods (Decree 09/2019/NĐ-CP, Art. 12): a quarter's
window runs from the 15th of the month before it to the 14th of its last month. The offsets
live in ``catalog/regimes.csv``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from commune_reports.catalog import Regime

TIMEZONE = "Asia/Ho_Chi_Minh"
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}


@dataclass(frozen=True, order=True)
class Period:
    year: int
    quarter: int  # 0 for a whole year

    @property
    def code(self) -> str:
        return f"{self.year}Q{self.quarter}" if self.quarter else str(self.year)

    @property
    def period_type(self) -> str:
        return "quarter" if self.quarter else "year"

    @property
    def first_month(self) -> int:
        return 3 * self.quarter - 2 if self.quarter else 1

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    @property
    def end(self) -> dt.date:
        last_month = 3 * self.quarter if self.quarter else 12
        return dt.date(self.year, last_month, calendar.monthrange(self.year, last_month)[1])

    @property
    def label_vi(self) -> str:
        roman = {v: k for k, v in _ROMAN.items()}
        return f"Quý {roman[self.quarter]}/{self.year}" if self.quarter else f"Năm {self.year}"

    def previous(self) -> Period:
        if not self.quarter:
            return Period(self.year - 1, 0)
        return (
            Period(self.year - 1, 4) if self.quarter == 1 else Period(self.year, self.quarter - 1)
        )

    def next(self) -> Period:
        if not self.quarter:
            return Period(self.year + 1, 0)
        return (
            Period(self.year + 1, 1) if self.quarter == 4 else Period(self.year, self.quarter + 1)
        )

    def quarters(self) -> list[Period]:
        return [self] if self.quarter else [Period(self.year, q) for q in range(1, 5)]

    def __str__(self) -> str:
        return self.code


class PeriodError(ValueError):
    """A period code or range that cannot be read (a usage error: exit 2)."""


def parse_period(code: str) -> Period:
    """Parse "2023Q4" or "2023" (any case); raise PeriodError naming the bad code otherwise."""
    text = code.strip().upper()
    if m := _QUARTER.match(text):
        return Period(int(m[1]), int(m[2]))
    if m := _YEAR.match(text):
        return Period(int(m[1]), 0)
    raise PeriodError(
        f"mã kỳ không hợp lệ {code!r}: ví dụ 2023Q4 hoặc 2023 / invalid period code {code!r}: "
        "expected e.g. 2023Q4 or 2023"
    )


def canonical_range(text: str) -> str:
    """A period or range as the project writes it: "2022q4" -> "2022Q4", " 2021 .. 2023" ->
    "2021..2023"."""
    periods = parse_period_range(text)
    first, last = periods[0].code, periods[-1].code
    return first if ".." not in text else f"{first}..{last}"


def parse_period_range(text: str) -> list[Period]:
    """Expand "2021..2023" or "2021Q1..2023Q4" (or one code) into its periods, in order."""
    if ".." not in text:
        return [parse_period(text)]
    first_text, last_text = text.split("..", 1)
    first, last = parse_period(first_text), parse_period(last_text)
    if first.period_type != last.period_type or last < first:
        raise PeriodError(
            f"khoảng kỳ không hợp lệ {text!r}: hai đầu cùng loại, đầu trước nhỏ hơn, ví dụ "
            f"2021..2023 / invalid period range {text!r}: both ends of one kind, the first "
            "not after the last, e.g. 2021..2023"
        )
    out: list[Period] = []
    current = first
    while current <= last:
        out.append(current)
        current = current.next()
    return out


def parse_label_vi(text: str) -> Period | None:
    """Read "Quý IV/2023" or "Năm 2023" from a form's title line."""
    if m := re.search(r"Qu[ýy]\s+(IV|III|II|I)\s*/\s*(\d{4})", text, re.IGNORECASE):
        return Period(int(m[2]), _ROMAN[m[1].upper()])
    if m := re.search(r"N[ăa]m\s+(\d{4})", text, re.IGNORECASE):
        return Period(int(m[1]), 0)
    return None


def _shift(year: int, month: int, offset: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + offset
    return index // 12, index % 12 + 1


def _day(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def cutoff_window(period: Period, regime: Regime) -> tuple[dt.date, dt.date]:
    """First and last day of the data cut-off window of ``period`` under ``regime``."""
    y0, m0 = _shift(period.year, period.first_month, regime.window_start_month_offset)
    y1, m1 = _shift(period.year, period.first_month, regime.window_end_month_offset)
    return _day(y0, m0, regime.window_start_day), _day(y1, m1, regime.window_end_day)


def deadline(period: Period, regime: Regime) -> dt.date:
    """Submission deadline: cut-off end plus the regime's working or calendar days."""
    day = cutoff_window(period, regime)[1]
    remaining = regime.deadline_days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if regime.deadline_day_kind == "calendar" or day.weekday() < 5:
            remaining -= 1
    return day


def period_due_before(day: dt.date, regime: Regime) -> Period:
    """The latest period of ``regime`` whose deadline is before ``day``.

    A scheduled run uses it to know which period it closes: the quarterly run of 20 December
    2023 closes 2023Q4, the yearly run of 1 April 2024 closes the evaluation of 2023.
    """
    candidate = Period(day.year + 1, 4 if regime.period_type == "quarter" else 0)
    while deadline(candidate, regime) >= day:
        candidate = candidate.previous()
    return candidate

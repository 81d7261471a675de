"""Read one report form into long rows (metric, cell, value) with python-calamine.

Runs in worker processes: it takes a path and returns plain data, never touches the warehouse.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from commune_reports import form_layout as L
from commune_reports.catalog import load_catalog
from commune_reports.numbers import NumberError, parse_vn_number
from commune_reports.periods import Period, parse_label_vi, parse_period
from commune_reports.problems import Problem

_UNIT_STAMP = re.compile(r"Mã\s+đơn\s+vị\s*:\s*([\w-]+)", re.IGNORECASE)
_PERIOD_STAMP = re.compile(r"Mã\s+kỳ\s*:\s*(\w+)", re.IGNORECASE)
HEADER_SCAN_ROWS = 30


@dataclass
class ParsedValue:
    metric_code: str
    cell: str
    raw: str | None
    value: Decimal | None


@dataclass
class ParsedForm:
    path: str
    sheet: str | None = None
    unit_code: str | None = None
    period_code: str | None = None
    regime: str | None = None
    unit_key: str | None = None
    values: list[ParsedValue] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _problem(rule: str, vi: str, en: str, **where: Any) -> Problem:
    return Problem(stage="parse", rule=rule, message_vi=vi, message_en=en, **where)


def _text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def read_value(cell: Any) -> tuple[str | None, Decimal | None, str | None]:
    """(raw text, number, error) for a value cell: numeric cells as they are, text by VN rules."""
    if cell is None or cell == "":
        return None, None, None
    if isinstance(cell, bool | dt.date | dt.time | dt.timedelta):
        return str(cell), None, "not_a_number"
    if isinstance(cell, int | float):
        raw = str(int(cell)) if float(cell).is_integer() else repr(cell)
        try:
            return raw, Decimal(raw), None
        except InvalidOperation:
            return raw, None, "not_a_number"
    raw = str(cell).strip()
    if not raw:
        return None, None, None
    try:
        return raw, parse_vn_number(raw), None
    except NumberError:
        return raw, None, "not_a_number"


def _find_header(rows: list[list[Any]]) -> tuple[int, int, int] | None:
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        texts = [_text(c).lower() for c in row]
        if L.CODE_HEADER.lower() in texts and L.VALUE_HEADER.lower() in texts:
            return r, texts.index(L.CODE_HEADER.lower()), texts.index(L.VALUE_HEADER.lower())
    return None


def _stamps(rows: list[list[Any]], header_row: int) -> tuple[str | None, str | None, Period | None]:
    unit = period = None
    label_period = None
    for row in rows[:header_row]:
        for cell in row:
            text = _text(cell)
            if m := _UNIT_STAMP.search(text):
                unit = m[1]
            if m := _PERIOD_STAMP.search(text):
                period = m[1]
            if label_period is None and (found := parse_label_vi(text)):
                label_period = found
    return unit, period, label_period


def parse_form(path: str | Path) -> ParsedForm:
    """Parse one file; every problem is recorded on the result, nothing is raised."""
    from python_calamine import CalamineWorkbook

    form = ParsedForm(path=str(path))
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = [m.name for m in book.sheets_metadata if str(m.visible).endswith("Visible")]
        sheet_name = L.SHEET_NAME if L.SHEET_NAME in names else (names[0] if names else None)
        if sheet_name is None:
            form.problems.append(
                _problem("no_sheet", "tệp không có trang tính nào", "the file has no visible sheet")
            )
            return form
        sheet = book.get_sheet_by_name(sheet_name)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several types for unreadable files
        form.problems.append(
            _problem(
                "unreadable",
                f"không đọc được tệp bảng tính ({type(exc).__name__}: {exc})",
                f"the spreadsheet cannot be read ({type(exc).__name__}: {exc})",
            )
        )
        return form
    form.sheet = sheet_name
    header = _find_header(rows)
    if header is None:
        form.problems.append(
            _problem(
                "no_header",
                f"không tìm thấy dòng tiêu đề có cột '{L.CODE_HEADER}' và '{L.VALUE_HEADER}'",
                f"no header row with columns '{L.CODE_HEADER}' and '{L.VALUE_HEADER}'",
                sheet=sheet_name,
            )
        )
        return form
    header_row, code_col, value_col = header
    unit_code, period_text, label_period = _stamps(rows, header_row)
    _identify(form, unit_code, period_text, label_period)
    for r in range(header_row + 1, len(rows)):
        row = rows[r]
        code = _text(row[code_col]) if code_col < len(row) else ""
        if not code:
            continue
        cell = L.cell_address(r, value_col)
        raw, value, error = read_value(row[value_col] if value_col < len(row) else None)
        if error:
            form.problems.append(
                _problem(
                    error,
                    f"giá trị '{raw}' của chỉ tiêu {code} không phải là số",
                    f"value '{raw}' of metric {code} is not a number",
                    sheet=sheet_name,
                    cell=cell,
                    metric_code=code,
                    found=raw,
                )
            )
            continue
        form.values.append(ParsedValue(code, cell, raw, value))
    return form


def _identify(
    form: ParsedForm, unit_code: str | None, period_text: str | None, label: Period | None
) -> None:
    """Unit and period from the stamps (A4), the period checked against the title line (A3)."""
    if unit_code is None:
        form.problems.append(
            _problem(
                "no_unit_stamp",
                f"thiếu '{L.UNIT_STAMP}' ở phần đầu biểu (ô A4)",
                f"the '{L.UNIT_STAMP}' stamp is missing from the form heading (cell A4)",
                sheet=form.sheet,
                cell="A4",
            )
        )
    period: Period | None = None
    if period_text is not None:
        try:
            period = parse_period(period_text)
        except ValueError:
            form.problems.append(
                _problem(
                    "bad_period_stamp",
                    f"mã kỳ '{period_text}' không hợp lệ (ví dụ đúng: 2023Q4, 2023)",
                    f"period code '{period_text}' is invalid (valid: 2023Q4, 2023)",
                    sheet=form.sheet,
                    cell="A4",
                    found=period_text,
                )
            )
    elif label is None:
        form.problems.append(
            _problem(
                "no_period_stamp",
                f"thiếu '{L.PERIOD_STAMP}' ở phần đầu biểu (ô A4)",
                f"the '{L.PERIOD_STAMP}' stamp is missing from the form heading (cell A4)",
                sheet=form.sheet,
                cell="A4",
            )
        )
    if period is not None and label is not None and period != label:
        form.problems.append(
            _problem(
                "period_conflict",
                f"mã kỳ {period} ở ô A4 khác kỳ báo cáo '{label.label_vi}' ở dòng tiêu đề",
                f"period code {period} in A4 differs from '{label.label_vi}' in the title line",
                sheet=form.sheet,
                cell="A3",
                found=label.code,
            )
        )
    period = period or label
    form.unit_code = unit_code
    form.period_code = period.code if period else None
    if unit_code and period:
        catalog = load_catalog()
        unit = catalog.unit_on(unit_code, period.end)
        if unit is not None:
            form.unit_key = unit.key
            form.regime = catalog.regime_for(unit, period.period_type)

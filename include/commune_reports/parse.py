"""Read one report form into long rows (metric, cell, value), however it was altered.

The header row is found wherever it is and its columns by their text ("Mã chỉ tiêu",
"Chỉ tiêu", "Kết quả"), not their position; a metric row is matched by its code, or by its
label when the code column is gone; inserted, deleted and reordered rows, merged cells, extra
sheets and a "Tổng cộng" row (checked against the sum, then ignored) are handled. Unit and
period come from the stamps, else the heading lines, else the file name; sources that
disagree are an error. Numbers typed as text follow Vietnamese rules; anything ambiguous is
an error naming the cell, never a guess.

Runs in the parse workers: it takes a path and returns plain data, never touches the warehouse.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from commune_reports import form_layout as L
from commune_reports import legacy
from commune_reports.names import Names, load_names
from commune_reports.numbers import (
    NumberError,
    format_vn_number,
    parse_vn_number,
    storable_problem,
)
from commune_reports.periods import Period, parse_period
from commune_reports.problems import Problem
from commune_reports.readers import Book, Limits, Rejected, SheetData, read_book
from commune_reports.textnorm import clean, key

_UNIT_STAMP = re.compile(r"Mã\s*đơn\s*vị\s*:\s*([\w-]+)", re.IGNORECASE)
_PERIOD_STAMP = re.compile(r"Mã\s*kỳ\s*:\s*(\w+)", re.IGNORECASE)
_QUARTER_LABEL = re.compile(
    r"qu[ýyíi]\s*(iv|iii|ii|i|[1-4])\s*(?:/|-|\.|năm)\s*(\d{4})", re.IGNORECASE
)
# a year only from a line that is about the reporting period ("Kỳ báo cáo: Năm 2023", "NĂM
# 2023"), never from any "năm" in a heading ("Kèm theo Quyết định ... năm 2020")
_YEAR_LABEL = re.compile(
    r"^(?:kỳ báo cáo\s*:?\s*)?(?:báo cáo\s+)?năm\s*(\d{4})$|kỳ báo cáo\s*:?\s*năm\s*(\d{4})",
    re.IGNORECASE,
)
_FILE_NAME = re.compile(r"^(\d{5}|\d{3}(?:-[a-z]+)?)[_\- ]+(\d{4}(?:q[1-4])?)(?![0-9a-z])", re.I)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_ERROR_LITERAL = re.compile(
    r"^#(DIV/0!|N/A|NAME\?|NULL!|NUM!|REF!|VALUE!|GETTING_DATA|SPILL!|CALC!|ERROR)$"
)
_COUNT_KINDS = {"integer", "flag", "grade"}
HEADER_SCAN_ROWS = L.HEADER_SCAN_ROWS

_VALUE_KEYS = {key(h) for h in L.VALUE_HEADERS}
_CODE_KEYS = {key(h) for h in L.CODE_HEADERS}
_LABEL_KEYS = {key(h) for h in L.LABEL_HEADERS}
_NUMBER_KEYS = {key(h) for h in L.NUMBER_HEADERS}
_TOTAL_KEYS = {key(h) for h in L.TOTALS_LABELS}


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
    warnings: list[Problem] = field(default_factory=list)  # noted, the file is still loaded
    kind: str | None = None  # xlsx | xls | ods | csv
    encoding: str | None = None


def _problem(rule: str, vi: str, en: str, **where: Any) -> Problem:
    return Problem(stage="parse", rule=rule, message_vi=vi, message_en=en, **where)


def _text(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def read_value(
    cell: Any, kind: str | None = None
) -> tuple[str | None, Decimal | None, NumberError | None]:
    """(raw text, number, error) for a value cell: numeric cells as they are, text by
    Vietnamese rules; ``kind`` is the metric's value kind ("integer" makes "1,234" ambiguous)."""
    if cell is None or cell == "":
        return None, None, None
    if isinstance(cell, bool):
        return (
            str(cell),
            None,
            NumberError(
                "not_a_number", f"'{cell}' là giá trị đúng/sai", f"'{cell}' is a true/false value"
            ),
        )
    if isinstance(cell, dt.date | dt.time | dt.timedelta):
        return (
            str(cell),
            None,
            NumberError(
                "not_a_number",
                f"ô chứa ngày/giờ '{cell}', không phải số (định dạng ô là Ngày): đổi định dạng ô "
                "thành Số",
                f"the cell holds a date/time '{cell}', not a number (the cell is formatted as a "
                "date): format it as Number",
            ),
        )
    if isinstance(cell, int | float):
        if isinstance(cell, float) and not math.isfinite(cell):
            raw = repr(cell)
            return raw, None, NumberError("not_a_number", f"'{raw}' không phải là số", raw)
        raw = str(int(cell)) if float(cell).is_integer() else repr(cell)
        try:
            return _storable(raw, Decimal(raw))
        except InvalidOperation:
            return raw, None, NumberError("not_a_number", f"'{raw}' không phải là số", raw)
    raw = " ".join(unicodedata.normalize("NFC", str(cell)).split())  # footnotes kept: no guess
    if not raw:
        return None, None, None
    if _ERROR_LITERAL.match(raw):
        return (
            raw,
            None,
            NumberError(
                "formula_error",
                f"công thức trong ô báo lỗi {raw}: sửa công thức hoặc nhập số",
                f"the formula in this cell gives the error {raw}: fix the formula or type the "
                "number",
            ),
        )
    try:
        return _storable(raw, parse_vn_number(raw, count=kind in _COUNT_KINDS))
    except NumberError as exc:
        return raw, None, exc


def _storable(raw: str, value: Decimal) -> tuple[str | None, Decimal | None, NumberError | None]:
    problem = storable_problem(value)
    return (raw, None, problem) if problem else (raw, value, None)


# --------------------------------------------------------------------------- the sheet


@dataclass
class Header:
    row: int
    value_col: int
    code_col: int | None
    label_col: int | None
    number_col: int | None


def _filled(sheet: SheetData, limit: int) -> list[list[Any]]:
    """The first ``limit`` rows with each merged range's value copied into all its cells
    (headers merged over two rows or columns), clipped to the rows read."""
    rows = [list(r) for r in sheet.rows[:limit]]
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                if rows[r][c] in (None, ""):
                    rows[r][c] = value
    return rows


def find_header(rows: list[list[Any]]) -> Header | None:
    """The first row naming a value column and a code or label column."""
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cols: dict[str, int] = {}
        for c, cell in enumerate(row):
            if not isinstance(cell, str) or not cell or len(cell) > 60:
                continue
            k = key(cell)
            for name, keys in (
                ("value", _VALUE_KEYS),
                ("code", _CODE_KEYS),
                ("label", _LABEL_KEYS),
                ("number", _NUMBER_KEYS),
            ):
                if k in keys and name not in cols:
                    cols[name] = c
        if "value" in cols and ("code" in cols or "label" in cols):
            return Header(r, cols["value"], cols.get("code"), cols.get("label"), cols.get("number"))
    return None


def _convert_legacy(sheet: SheetData) -> tuple[str, legacy.Decision] | None:
    """Convert a sheet's TCVN3/VNI cells in place when certain; ("converted"|"uncertain", how)."""
    suspects = [
        cell
        for row in sheet.rows
        for cell in row
        if isinstance(cell, str) and legacy.is_suspect(cell)
    ]
    if not suspects:
        return None
    decision = legacy.decide(suspects)
    if decision.encoding is None:
        return "uncertain", decision
    for row in sheet.rows:
        for c, cell in enumerate(row):
            if isinstance(cell, str) and cell in decision.converted:
                row[c] = decision.converted[cell]
    return "converted", decision


def _legacy_problem(decision: legacy.Decision, sheet: str) -> Problem:
    if decision.guess:
        name_vi = legacy.NAMES[decision.guess]
        source = name_en = decision.guess.upper()
    else:
        name_vi = "TCVN3 (phông .VnTime) lẫn VNI (phông VNI-Times)"
        name_en = "TCVN3 (.VnTime) mixed with VNI (VNI-Times)"
        source = "TCVN3 / VNI"
    sample = decision.unexplained[0] if decision.unexplained else None
    return _problem(
        "legacy_encoding",
        f"chữ trong tệp được gõ bằng bảng mã cũ {name_vi}, không chuyển sang Unicode một cách "
        "chắc chắn được: mở tệp, chọn vùng chữ, dùng Unikey > Công cụ chuyển mã (Ctrl+Shift+F6), "
        f"nguồn {source}, đích Unicode, chuyển rồi lưu lại (phông Times New Roman)",
        f"the text was typed in the legacy {name_en} encoding and cannot be converted to "
        "Unicode with certainty: open the file, select the text, convert it with Unikey's "
        f"converter (Ctrl+Shift+F6) from {source} to Unicode, then save (font Times New Roman)",
        sheet=sheet,
        found=sample,
    )


def _choose_sheet(form: ParsedForm, book: Book) -> tuple[SheetData, Header, list[list[Any]]] | None:
    found, uncertain = [], []
    for sheet in book.sheets:
        converted = _convert_legacy(sheet)
        filled = _filled(sheet, HEADER_SCAN_ROWS)
        header = find_header(filled)
        if converted and converted[0] == "uncertain":
            uncertain.append((sheet, converted[1]))
            if header is not None:
                form.problems.append(_legacy_problem(converted[1], sheet.name))
                return None
            continue
        if header is not None:
            found.append((sheet, header, filled))
            if converted:
                decision = converted[1]
                form.warnings.append(
                    _problem(
                        "legacy_encoding_converted",
                        f"{decision.cells} ô gõ bằng bảng mã {legacy.NAMES[decision.encoding]} "
                        "đã được chuyển sang Unicode",
                        f"{decision.cells} cells typed in {decision.encoding.upper()} were "
                        "converted to Unicode",
                        sheet=sheet.name,
                    )
                )
    if not found:
        if uncertain:
            form.problems.append(_legacy_problem(uncertain[0][1], uncertain[0][0].name))
            return None
        names = ", ".join(s.name for s in book.sheets) or "—"
        form.problems.append(
            _problem(
                "no_header",
                f"không tìm thấy dòng tiêu đề có cột '{L.VALUE_HEADER}' và cột "
                f"'{L.CODE_HEADER}' hoặc '{L.LABEL_HEADER}' (các trang: {names}): dùng biểu mẫu "
                "của huyện, giữ nguyên dòng tiêu đề",
                f"no header row with a '{L.VALUE_HEADER}' column and a '{L.CODE_HEADER}' or "
                f"'{L.LABEL_HEADER}' column (sheets: {names}): use the district's form and keep "
                "its header row",
                sheet=book.sheets[0].name if len(book.sheets) == 1 else None,
            )
        )
        return None
    if len(found) > 1:
        named = [f for f in found if f[0].name == L.SHEET_NAME]
        if len(named) != 1:
            names = ", ".join(f[0].name for f in found)
            form.problems.append(
                _problem(
                    "several_form_sheets",
                    f"tệp có nhiều trang biểu mẫu ({names}): mỗi tệp chỉ gửi một biểu, xóa hoặc "
                    "ẩn các trang còn lại",
                    f"the file has several form sheets ({names}): send one form per file, "
                    "delete or hide the others",
                    found=names,
                )
            )
            return None
        others = ", ".join(f[0].name for f in found if f is not named[0])
        form.warnings.append(
            _problem(
                "extra_sheet_ignored",
                f"đã đọc trang {L.SHEET_NAME}, bỏ qua trang {others}",
                f"read sheet {L.SHEET_NAME}, ignored sheet {others}",
                sheet=others,
            )
        )
        found = named
    return found[0]


# --------------------------------------------------------------------------- the rows


def _is_totals(*texts: str) -> bool:
    for text in texts:
        k = key(text)
        if k in _TOTAL_KEYS or k.startswith(key("Tổng cộng")):
            return True
    return False


def _read_rows(form: ParsedForm, sheet: SheetData, header: Header, names: Names) -> None:
    rows = sheet.rows
    totals: list[tuple[str, Any]] = []

    def cell_text(row: list[Any], col: int | None, r: int) -> str:
        # the cells as typed: a header merged down over a numbering row must not repeat there
        if col is None:
            return ""
        return _text(row[col]) if col < len(row) else ""

    for r in range(header.row + 1, len(rows)):
        row = rows[r]
        code_text = cell_text(row, header.code_col, r)
        label = cell_text(row, header.label_col, r)
        number = cell_text(row, header.number_col, r)
        raw_cell = row[header.value_col] if header.value_col < len(row) else None
        cell = L.cell_address(r, header.value_col)
        if _is_totals(number, code_text, label):
            totals.append((cell, raw_cell))
            continue
        code = names.metric_codes.get(code_text.casefold()) if code_text else None
        by_label = names.metric_for_label(label) if label else None
        if code and by_label and code != by_label:
            form.problems.append(
                _problem(
                    "metric_conflict",
                    f"mã chỉ tiêu {code} không khớp tên chỉ tiêu '{label}' ({by_label}): sửa mã "
                    "hoặc tên cho đúng biểu mẫu",
                    f"metric code {code} does not match the label '{label}' ({by_label}): "
                    "correct the code or the label",
                    sheet=sheet.name,
                    cell=L.cell_address(r, header.code_col or 0),
                    metric_code=code,
                    found=label,
                )
            )
            continue
        if code is None and by_label is not None:
            code = by_label
        if code is None and code_text and not _is_column_numbering(code_text):
            code = code_text  # not a catalog code: validation rejects it (metric_on_form)
        if code is None:
            if not label and not code_text and isinstance(raw_cell, int | float):
                form.problems.append(
                    _problem(
                        "value_without_metric",
                        f"ô có số liệu {raw_cell} nhưng dòng {r + 1} không có mã hay tên chỉ "
                        "tiêu: điền mã/tên chỉ tiêu hoặc xóa số liệu",
                        f"the cell holds {raw_cell} but row {r + 1} names no metric: fill in "
                        "the metric code or label, or delete the figure",
                        sheet=sheet.name,
                        cell=cell,
                        found=str(raw_cell),
                    )
                )
                continue
            if label and raw_cell not in (None, "") and not _is_column_numbering(label):
                form.problems.append(
                    _problem(
                        "unknown_metric_label",
                        f"không nhận ra chỉ tiêu '{label}' (dòng {r + 1}): ghi đúng tên chỉ tiêu "
                        f"như biểu mẫu hoặc điền cột '{L.CODE_HEADER}'",
                        f"metric '{label}' (row {r + 1}) is not on the form: write the label as "
                        f"the form does or fill in the '{L.CODE_HEADER}' column",
                        sheet=sheet.name,
                        cell=L.cell_address(r, header.label_col or 0),
                        found=label,
                    )
                )
            continue
        metric = names.metrics.get(code)
        if (r, header.value_col) in sheet.formulas_without_value:
            form.problems.append(
                _problem(
                    "formula_without_value",
                    f"ô chứa công thức chưa được tính (không có giá trị lưu sẵn) cho chỉ tiêu "
                    f"{code}: mở tệp bằng Excel, để Excel tính rồi lưu lại, hoặc nhập số",
                    f"the cell holds a formula with no saved result for metric {code}: open the "
                    "file in Excel so it computes, save again, or type the number",
                    sheet=sheet.name,
                    cell=cell,
                    metric_code=code,
                )
            )
            continue
        if (r, header.value_col) in sheet.errors:
            raw_cell = sheet.errors[(r, header.value_col)]
        raw, value, error = read_value(raw_cell, metric.value_kind if metric else None)
        if error:
            form.problems.append(
                _problem(
                    error.rule,
                    f"chỉ tiêu {code}: {error.message_vi}",
                    f"metric {code}: {error.message_en}",
                    sheet=sheet.name,
                    cell=cell,
                    metric_code=code,
                    found=raw,
                )
            )
            continue
        form.values.append(ParsedValue(code, cell, raw, value))
    for cell, raw_cell in totals:
        _check_totals(form, sheet.name, cell, raw_cell)


def _is_column_numbering(label: str) -> bool:
    return bool(re.fullmatch(r"[\(\[]?\s*[0-9A-Za-z]{1,3}\s*[\)\]]?", label))


def _check_totals(form: ParsedForm, sheet: str, cell: str, raw_cell: Any) -> None:
    raw, value, error = read_value(raw_cell)
    form.warnings.append(
        _problem(
            "totals_row_ignored",
            "dòng 'Tổng cộng' không phải chỉ tiêu, không được tổng hợp",
            "the 'Tổng cộng' row is not a metric and is not loaded",
            sheet=sheet,
            cell=cell,
            found=raw,
        )
    )
    if raw is None or error is not None:
        return
    total = sum((v.value for v in form.values if v.value is not None), Decimal(0))
    if value != total:
        form.problems.append(
            _problem(
                "totals_mismatch",
                f"dòng 'Tổng cộng' ghi {raw} nhưng tổng các chỉ tiêu là "
                f"{format_vn_number(total, 4).rstrip('0').rstrip(',')}: kiểm tra lại số liệu "
                "hoặc xóa dòng tổng",
                f"the 'Tổng cộng' row says {raw} but the metrics add up to {total.normalize():f}:"
                " check the figures or delete the totals row",
                sheet=sheet,
                cell=cell,
                found=raw,
            )
        )


# --------------------------------------------------------------------------- unit and period


@dataclass
class _Source:
    what_vi: str
    what_en: str
    cell: str | None
    value: Any
    text: str = ""


def _label_period(text: str) -> Period | None:
    k = key(text)
    if m := _QUARTER_LABEL.search(k):
        q = m[1].lower()
        return Period(int(m[2]), _ROMAN.get(q) or int(q))
    if m := _YEAR_LABEL.search(k):
        return Period(int(m[1] or m[2]), 0)
    return None


def _identify(
    form: ParsedForm, rows: list[list[Any]], header_row: int, file_name: str, names: Names
) -> None:
    unit_stamp = period_stamp = None
    headings: list[_Source] = []
    labels: list[_Source] = []
    for r, row in enumerate(rows[:header_row]):
        for c, cell in enumerate(row):
            text = clean(cell) if isinstance(cell, str) else ""
            if not text:
                continue
            where = L.cell_address(r, c)
            stamped = False
            if m := _UNIT_STAMP.search(text):
                unit_stamp, stamped = unit_stamp or _Source("ô", "cell", where, m[1]), True
            if m := _PERIOD_STAMP.search(text):
                period_stamp, stamped = period_stamp or _Source("ô", "cell", where, m[1]), True
            if stamped:
                continue
            if found := _label_period(text):
                labels.append(_Source("dòng tiêu đề", "title line", where, found))
            elif codes := names.units_named(text):
                headings.append(_Source("tên đơn vị", "unit name", where, codes, text))
    named = _FILE_NAME.match(Path(file_name).stem)
    period = _resolve_period(form, period_stamp, labels, named)
    day = period.end if period else None
    _resolve_unit(form, unit_stamp, headings, named, names, day)
    form.period_code = period.code if period else None
    if form.unit_code and period:
        unit = names.catalog.unit_on(form.unit_code, period.end)
        if unit is not None:
            form.unit_key = unit.key
            form.regime = names.catalog.regime_for(unit, period.period_type)


def _resolve_period(
    form: ParsedForm,
    stamp: _Source | None,
    labels: list[_Source],
    named: re.Match[str] | None,
) -> Period | None:
    sources: list[tuple[_Source, Period]] = []
    if stamp is not None:
        try:
            sources.append((stamp, parse_period(stamp.value)))
        except ValueError:
            form.problems.append(
                _problem(
                    "bad_period_stamp",
                    f"mã kỳ '{stamp.value}' không hợp lệ (ví dụ đúng: 2023Q4, 2023)",
                    f"period code '{stamp.value}' is invalid (valid: 2023Q4, 2023)",
                    sheet=form.sheet,
                    cell=stamp.cell,
                    found=stamp.value,
                )
            )
            return None
    sources += [(s, s.value) for s in labels]
    if named:
        sources.append(
            (_Source("tên tệp", "file name", None, named[2]), parse_period(named[2].upper()))
        )
    if not sources:
        form.problems.append(
            _problem(
                "no_period_stamp",
                f"không xác định được kỳ báo cáo: thiếu '{L.PERIOD_STAMP}' ở phần đầu biểu (ô A4), "
                f"dòng 'Kỳ báo cáo' và tên tệp dạng {L.FILE_NAME_HINT}",
                f"the reporting period is unknown: no '{L.PERIOD_STAMP}' stamp in the heading "
                f"(cell A4), no 'Kỳ báo cáo' line and no file name like {L.FILE_NAME_HINT}",
                sheet=form.sheet,
                cell="A4",
            )
        )
        return None
    chosen_source, chosen = sources[0]
    for source, value in sources[1:]:
        if value != chosen:
            form.problems.append(
                _problem(
                    "period_conflict",
                    f"kỳ {chosen} ({chosen_source.what_vi} {chosen_source.cell or ''}) khác kỳ "
                    f"{value.label_vi} ở {source.what_vi} {source.cell or ''}: sửa cho thống nhất",
                    f"period {chosen} ({chosen_source.what_en} {chosen_source.cell or ''}) "
                    f"differs from {value.label_vi} in the {source.what_en} "
                    f"{source.cell or ''}: make them agree",
                    sheet=form.sheet if source.cell else None,
                    cell=source.cell,
                    found=value.code,
                )
            )
            return None
    if stamp is None:
        form.warnings.append(
            _problem(
                "period_from_" + ("heading" if chosen_source.cell else "file_name"),
                f"thiếu mã kỳ ở ô A4: kỳ {chosen} lấy từ {chosen_source.what_vi}",
                f"no period stamp in A4: period {chosen} taken from the {chosen_source.what_en}",
                sheet=form.sheet,
                cell=chosen_source.cell,
            )
        )
    return chosen


def _resolve_unit(
    form: ParsedForm,
    stamp: _Source | None,
    headings: list[_Source],
    named: re.Match[str] | None,
    names: Names,
    day: dt.date | None,
) -> None:
    known = names.catalog.units_by_code
    heading_codes = None
    heading = headings[0] if headings else None
    if heading is not None:
        heading_codes = names.valid_on(heading.value, day) if day else heading.value
    file_code = named[1].upper() if named else None
    if stamp is not None:
        form.unit_code = stamp.value
        if stamp.value not in known:
            return  # an unknown code: validation says so (unit_valid_in_period)
        if heading_codes is not None and stamp.value not in heading_codes:
            form.problems.append(_unit_conflict(form, stamp.value, heading, heading_codes))
        elif file_code and file_code in known and file_code != stamp.value:
            form.problems.append(_unit_conflict(form, stamp.value, None, {file_code}))
        return
    if heading_codes is not None:
        if len(heading_codes) > 1:
            form.problems.append(
                _problem(
                    "ambiguous_unit_name",
                    f"tên đơn vị '{heading.text}' ứng với "
                    f"nhiều đơn vị ({', '.join(sorted(heading_codes))}): ghi đủ loại đơn vị "
                    f"(Xã/Thị trấn) hoặc điền '{L.UNIT_STAMP}' ở ô A4",
                    f"the unit name '{heading.text}' fits several units "
                    f"({', '.join(sorted(heading_codes))}): write the unit type (Xã/Thị trấn) or "
                    f"fill in the '{L.UNIT_STAMP}' stamp in cell A4",
                    sheet=form.sheet,
                    cell=heading.cell,
                    found=heading.text,
                )
            )
            return
        (code,) = heading_codes
        if file_code and file_code in known and file_code != code:
            form.problems.append(_unit_conflict(form, code, None, {file_code}))
            return
        form.unit_code = code
        form.warnings.append(
            _problem(
                "unit_from_heading",
                f"thiếu mã đơn vị ở ô A4: đơn vị {code} lấy từ tên ở ô {heading.cell}",
                f"no unit stamp in A4: unit {code} taken from the name in cell {heading.cell}",
                sheet=form.sheet,
                cell=heading.cell,
            )
        )
        return
    if file_code:
        form.unit_code = file_code
        form.warnings.append(
            _problem(
                "unit_from_file_name",
                f"thiếu mã đơn vị ở ô A4 và tên đơn vị: đơn vị {file_code} lấy từ tên tệp",
                f"no unit stamp in A4 and no unit name: unit {file_code} taken from the file name",
            )
        )
        return
    form.problems.append(
        _problem(
            "no_unit_stamp",
            f"không xác định được đơn vị: thiếu '{L.UNIT_STAMP}' ở phần đầu biểu (ô A4), tên "
            f"đơn vị ở ô A1 và tên tệp dạng {L.FILE_NAME_HINT}",
            f"the unit is unknown: no '{L.UNIT_STAMP}' stamp in the heading (cell A4), no unit "
            f"name in cell A1 and no file name like {L.FILE_NAME_HINT}",
            sheet=form.sheet,
            cell="A4",
        )
    )


def _unit_conflict(
    form: ParsedForm, code: str, heading: _Source | None, others: set[str] | frozenset[str]
) -> Problem:
    where_vi = f"tên đơn vị ở ô {heading.cell}" if heading else "tên tệp"
    where_en = f"the unit name in cell {heading.cell}" if heading else "the file name"
    return _problem(
        "unit_conflict",
        f"mã đơn vị {code} khác đơn vị ghi ở {where_vi} ({', '.join(sorted(others))}): sửa "
        "cho thống nhất",
        f"unit code {code} differs from {where_en} ({', '.join(sorted(others))}): make them agree",
        sheet=form.sheet if heading else None,
        cell=heading.cell if heading else None,
        found=", ".join(sorted(others)),
    )


# --------------------------------------------------------------------------- entry point


def parse_form(
    path: str | Path, original_name: str | None = None, limits: Limits | None = None
) -> ParsedForm:
    """Parse one file; every problem is recorded on the result, nothing is raised.

    ``original_name`` is the name the file was delivered under (the archive names files by
    their hash); it is the last source of unit and period.
    """
    form = ParsedForm(path=str(path))
    try:
        book = read_book(path, limits)
    except Rejected as rejected:
        form.problems.append(rejected.problem)
        return form
    except MemoryError:
        form.problems.append(_memory_problem())
        return form
    except Exception as exc:  # a reader bug must reject the file, not stop the batch
        form.problems.append(
            _problem(
                "unreadable",
                f"không đọc được tệp bảng tính ({type(exc).__name__}: {exc})",
                f"the spreadsheet cannot be read ({type(exc).__name__}: {exc})",
            )
        )
        return form
    form.kind, form.encoding = book.kind, book.encoding
    for name in book.hidden:
        form.warnings.append(
            _problem(
                "hidden_sheet_ignored",
                f"trang ẩn '{name}' không được đọc",
                f"hidden sheet '{name}' was not read",
                sheet=name,
            )
        )
    if not book.sheets:
        form.problems.append(
            _problem("no_sheet", "tệp không có trang tính nào", "the file has no visible sheet")
        )
        return form
    names = load_names()
    chosen = _choose_sheet(form, book)
    if chosen is None:
        return form
    sheet, header, filled = chosen
    form.sheet = sheet.name
    _identify(form, filled, header.row, original_name or Path(path).name, names)
    _read_rows(form, sheet, header, names)
    return form


def _memory_problem() -> Problem:
    return _problem(
        "too_much_memory",
        "đọc tệp cần quá nhiều bộ nhớ: tệp không phải một biểu mẫu bình thường",
        "reading the file needs too much memory: it is not an ordinary report form",
    )

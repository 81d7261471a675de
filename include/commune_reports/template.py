"""Write the blank (or filled) form of one unit and period, as FORM.md lays it out."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from commune_reports import form_layout as L
from commune_reports.catalog import Catalog, Metric, load_catalog
from commune_reports.periods import Period, parse_period
from commune_reports.safe_export import set_cell

_VALIDATION = {
    "integer": ("whole", "greaterThanOrEqual", "0", None),
    "decimal": ("decimal", "greaterThanOrEqual", "0", None),
    "flag": ("whole", "between", "0", "1"),
    "grade": ("whole", "between", "1", "4"),
}


class TemplateError(ValueError):
    """The unit does not exist in that period or sends no form of that kind."""


def form_spec(unit_code: str, period: Period, catalog: Catalog) -> tuple[object, str, list[Metric]]:
    """The unit version, regime and metrics of the form for ``unit_code`` and ``period``."""
    unit = catalog.unit_on(unit_code, period.end)
    if unit is None:
        raise TemplateError(
            f"đơn vị {unit_code} không tồn tại trong kỳ {period} / "
            f"unit {unit_code} does not exist in period {period}"
        )
    regime = catalog.regime_for(unit, period.period_type)
    if regime is None:
        raise TemplateError(
            f"đơn vị {unit_code} không gửi biểu cho kỳ {period} / "
            f"unit {unit_code} sends no form for period {period}"
        )
    return unit, regime, catalog.form_metrics(regime, unit)


def write_form(
    unit_code: str,
    period_code: str,
    out: Path,
    values: Mapping[str, int | float | Decimal | None] | None = None,
    catalog: Catalog | None = None,
) -> Path:
    """Write the form; ``values`` (metric code -> value) fills "Kết quả", else it stays blank."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    catalog = catalog or load_catalog()
    period = parse_period(period_code)
    unit, _regime, metrics = form_spec(unit_code, period, catalog)
    book = Workbook()
    sheet = book.active
    sheet.title = L.SHEET_NAME
    # text from the catalog is stored as text, never as a formula (safe_export)
    set_cell(sheet, 1, 1, L.heading_name(unit.name, unit.kind))
    set_cell(sheet, 2, 1, L.TITLE)
    set_cell(sheet, 3, 1, f"Kỳ báo cáo: {period.label_vi}")
    set_cell(sheet, 4, 1, L.stamp_line(unit.code, period.code))
    for cell in ("A1", "A2"):
        sheet[cell].font = Font(bold=True)
    for col, header in enumerate(L.HEADERS, start=1):
        cell = set_cell(sheet, L.HEADER_ROW, col, header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    value_col = L.HEADERS.index(L.VALUE_HEADER) + 1
    validations: dict[str, DataValidation] = {}
    for index, metric in enumerate(metrics, start=1):
        row = L.HEADER_ROW + index
        sheet.cell(row=row, column=1, value=index)
        set_cell(sheet, row, 2, metric.code)
        set_cell(sheet, row, 3, metric.label)
        set_cell(sheet, row, 4, metric.unit_of_measure)
        value = (values or {}).get(metric.code)
        if value is not None:
            sheet.cell(row=row, column=value_col, value=value)
        note = "Để trống nếu chưa có kết quả" if metric.may_be_blank else None
        if note:
            set_cell(sheet, row, 6, note)
        kind = metric.value_kind
        if kind not in validations:
            vtype, operator, low, high = _VALIDATION[kind]
            validations[kind] = DataValidation(
                type=vtype,
                operator=operator,
                formula1=low,
                formula2=high,
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="Giá trị không hợp lệ / Invalid value",
                error="Nhập số không âm đúng loại / Enter a non-negative number of the right kind",
            )
            sheet.add_data_validation(validations[kind])
        validations[kind].add(sheet.cell(row=row, column=value_col).coordinate)
    set_cell(sheet, L.HEADER_ROW + len(metrics) + 2, 1, L.SIGNATURE)
    for col, width in zip("ABCDEF", (6, 28, 60, 12, 14, 28), strict=True):
        sheet.column_dimensions[col].width = width
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    _make_reproducible(out)
    return out


FIXED_TIME = (2024, 1, 1, 0, 0, 0)
_W3CDTF = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _make_reproducible(path: Path) -> None:
    """Fix the zip entry times and document dates so the same form gives the same bytes
    (the ledger is content-addressed: a regenerated sample must not look like a new file)."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _W3CDTF.sub(b"2024-01-01T00:00:00Z", data)
            target.writestr(zipfile.ZipInfo(name, FIXED_TIME), data, zipfile.ZIP_DEFLATED)

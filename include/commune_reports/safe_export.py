"""Spreadsheet-safe output: no value the project writes becomes a formula when opened.

A cell of text starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, or the
full-width forms) is run as a formula by spreadsheet programs when it comes from a CSV file
("CSV injection"); in an .xlsx file openpyxl itself stores a string starting with ``=`` as a
formula. Unit names, labels and anything copied from a delivered file pass through here.

- CSV: such text gets a leading apostrophe (``'=1+1``), which spreadsheets show as text;
  numbers are written as numbers.
- XLSX: such text is stored as a string cell, never as a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def is_risky(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_value(value: Any) -> Any:
    """The value as a CSV cell that no spreadsheet evaluates."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return f"'{text}" if is_risky(text) else text


def write_csv(
    path: Path, rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None
) -> Path:
    """Write rows as UTF-8 CSV with a BOM (Excel then reads Vietnamese correctly)."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        if header is not None:
            writer.writerow([csv_value(h) for h in header])
        for row in rows:
            writer.writerow([csv_value(v) for v in row])
    return path


def set_cell(sheet: Any, row: int, column: int, value: Any) -> Any:
    """``sheet.cell(row, column, value)`` for openpyxl, with text always stored as text."""
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
    return cell

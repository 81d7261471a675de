"""The report form of FORM.md, version 1: where the stamps, header and values sit.

Shared by the writer (:mod:`template`) and the reader (:mod:`parse`) so the two cannot drift.
"""

from __future__ import annotations

SHEET_NAME = "BaoCao"
TITLE = "BÁO CÁO KẾT QUẢ CÔNG TÁC DÂN VẬN CHÍNH QUYỀN"
HEADERS = ("STT", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", "Kết quả", "Ghi chú")
HEADER_ROW = 6  # 1-based, as a person reads the sheet
FIRST_DATA_ROW = HEADER_ROW + 1
CODE_HEADER = "Mã chỉ tiêu"
VALUE_HEADER = "Kết quả"
LABEL_HEADER = "Chỉ tiêu"
UNIT_STAMP = "Mã đơn vị:"
PERIOD_STAMP = "Mã kỳ:"
SIGNATURE = "Người lập biểu                                        Thủ trưởng đơn vị"


def heading_name(name: str, kind: str) -> str:
    """A1 of the form: "ỦY BAN NHÂN DÂN XÃ MỸ HÒA" for a commune, the agency's name otherwise."""
    if kind in {"commune", "district"}:
        return f"ỦY BAN NHÂN DÂN {name}".upper()
    return name.upper()


def stamp_line(unit_code: str, period_code: str) -> str:
    return f"{UNIT_STAMP} {unit_code}      {PERIOD_STAMP} {period_code}"


def cell_address(row: int, col: int) -> str:
    """0-based (row, col) -> "E7"."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"

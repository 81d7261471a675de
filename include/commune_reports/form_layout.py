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


# How the reader recognises the parts of an altered form (compared as textnorm keys).
HEADER_SCAN_ROWS = 40
VALUE_HEADERS = (VALUE_HEADER, "Kết quả thực hiện", "Số liệu", "Giá trị", "Kết quả đạt được")
CODE_HEADERS = (CODE_HEADER, "Mã số chỉ tiêu", "Mã CT", "Mã")
LABEL_HEADERS = (LABEL_HEADER, "Tên chỉ tiêu", "Nội dung", "Nội dung chỉ tiêu")
NUMBER_HEADERS = ("STT", "TT", "Số TT", "Số thứ tự")
TOTALS_LABELS = ("Tổng cộng", "Cộng", "Tổng")
HEADING_PREFIXES = ("Ủy ban nhân dân", "UBND")
UNIT_TYPE_PREFIXES = ("Thị trấn", "Thị xã", "Thành phố", "Xã", "Phường", "Huyện", "Quận", "Tỉnh")
FILE_NAME_HINT = "<mã đơn vị>_<mã kỳ>.xlsx"  # e.g. 30052_2023Q4.xlsx, the name FORM.md asks for

"""Vietnamese number rules: "." groups thousands, "," marks decimals ("2.384", "50,43%").

``float("2.384")`` is 2.384, a silent thousand-fold error; these functions never guess.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_GROUPED = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
_SPACED = re.compile(r"^\d{1,3}( \d{3})+(,\d+)?$")  # "2 384": a space groups thousands
_PLAIN = re.compile(r"^\d+(,\d+)?$")
_COMMA_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")  # "1,234": English grouping or a decimal?
_DOT_DECIMAL = re.compile(r"^\d+\.\d+$")  # "84.43": English decimal or a thousands group?
_ENGLISH = re.compile(r"^\d{1,3}(,\d{3})+\.\d+$")  # "1,234.5"
# words and signs that qualify a figure instead of stating it ("hơn 256", "trên 99%")
_QUALIFIER = re.compile(
    r"(hơn|trên|dưới|khoảng|gần|xấp xỉ|tối thiểu|tối đa|ít nhất|chừng|ước|về|đạt|>|<|≥|≤|~|≈|\+/-)",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[\u00a0\u2007\u202f\u2009]")


class NumberError(ValueError):
    """A cell whose text is not a number by Vietnamese rules (message says why, VI / EN).

    ``rule`` names the reason: ``ambiguous_number``, ``qualified_number``, ``not_a_number`` or
    ``number_out_of_range`` (a number the warehouse cannot hold exactly).
    """

    def __init__(self, rule: str, message_vi: str, message_en: str):
        super().__init__(f"{message_vi} / {message_en}")
        self.rule, self.message_vi, self.message_en = rule, message_vi, message_en


# What the warehouse holds exactly on both engines: NUMERIC(18, 4) on PostgreSQL, and on
# SQLite an integer (exact to 18 digits) or a double (exact to 15 significant digits).
MAX_INTEGER_DIGITS = 14
MAX_DECIMALS = 4
MAX_FRACTION_DIGITS = 15  # significant digits of a number that is not whole


def storable_problem(value: Decimal) -> NumberError | None:
    """Why ``value`` cannot be stored exactly, or None: at most 14 digits before the decimal
    point, at most 4 after it, and at most 15 in all when it is not a whole number."""
    shown = f"{value.normalize():f}"
    _, digits, exponent = value.normalize().as_tuple()
    if not isinstance(exponent, int):  # infinity, NaN
        return NumberError(
            "not_a_number", f"'{value}' không phải là số", f"'{value}' is not a number"
        )
    decimals = max(0, -exponent)
    whole = max(0, len(digits) + exponent)
    if whole > MAX_INTEGER_DIGITS:
        return NumberError(
            "number_out_of_range",
            f"số {shown} quá lớn (quá {MAX_INTEGER_DIGITS} chữ số phần nguyên), không phải số "
            "liệu của một biểu mẫu: kiểm tra lại ô (có thể nhập nhầm hoặc dán cả một dãy số)",
            f"{shown} is too large (more than {MAX_INTEGER_DIGITS} digits before the decimal "
            "point) to be a report figure: check the cell (a typing slip, or a pasted string of "
            "digits)",
        )
    if decimals > MAX_DECIMALS or (decimals and len(digits) > MAX_FRACTION_DIGITS):
        return NumberError(
            "number_out_of_range",
            f"số {shown} có quá nhiều chữ số thập phân (tối đa {MAX_DECIMALS} chữ số sau dấu "
            "phẩy): làm tròn số liệu trong ô",
            f"{shown} has too many decimal places (at most {MAX_DECIMALS}): round the figure "
            "in the cell",
        )
    return None


def parse_vn_number(text: str, count: bool = False) -> Decimal:
    """Read a number typed as text by Vietnamese rules; raise NumberError when it is ambiguous,
    qualified or not a number. With ``count`` (a whole-number metric) "1,234" is ambiguous:
    English thousands or a Vietnamese decimal, never guessed."""
    cleaned = _SPACES.sub(" ", text).strip()
    percent = cleaned.endswith("%")
    if percent:
        cleaned = cleaned[:-1].rstrip()
    negative = cleaned.startswith(("-", "\u2212"))
    if negative:
        cleaned = cleaned[1:].lstrip()
    if _SPACED.match(cleaned):
        cleaned = cleaned.replace(" ", ".")
    if re.search(r"\d", cleaned) and _QUALIFIER.search(cleaned):
        raise NumberError(
            "qualified_number",
            f"'{text}' không phải là một số cụ thể: chỉ nhập số liệu chính xác, ghi chú đưa vào "
            "cột Ghi chú",
            f"'{text}' is not an exact figure: enter the exact number, put remarks in the notes "
            "column",
        )
    if count and percent:
        raise NumberError(
            "not_a_number",
            f"'{text}' là tỷ lệ phần trăm, chỉ tiêu này cần một số đếm",
            f"'{text}' is a percentage where a count is expected",
        )
    if count and _COMMA_THOUSANDS.match(cleaned):
        thousands = cleaned.replace(",", ".")
        raise NumberError(
            "ambiguous_number",
            f"số '{text}' không rõ nghĩa: dấu phẩy là dấu thập phân; viết {thousands} "
            "nếu là số nghìn, hoặc nhập ô dạng số",
            f"ambiguous number '{text}': a comma marks decimals in Vietnamese; write "
            f"{thousands} for thousands, or enter a numeric cell",
        )
    if _GROUPED.match(cleaned) or _PLAIN.match(cleaned):
        value = Decimal(cleaned.replace(".", "").replace(",", "."))
        return -value if negative else value
    if _DOT_DECIMAL.match(cleaned) or _ENGLISH.match(cleaned):
        raise NumberError(
            "ambiguous_number",
            f"số '{text}' không rõ nghĩa: dấu chấm phân cách hàng nghìn, dấu phẩy là dấu thập "
            "phân (ví dụ 2.384 hoặc 50,43)",
            f"ambiguous number '{text}': a dot groups thousands and a comma marks decimals in "
            "Vietnamese (e.g. 2.384 or 50,43)",
        )
    raise NumberError(
        "not_a_number",
        f"'{text}' không phải là số",
        f"'{text}' is not a number",
    )


def format_vn_number(value: Decimal | float | int, decimals: int = 0) -> str:
    """2384 -> "2.384"; 50.4337 with 2 decimals -> "50,43" (half up, as officials round)."""
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, frac = f"{abs(rounded):f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    text = ".".join(groups) or "0"
    return f"{sign}{text},{frac}" if frac else f"{sign}{text}"


def format_vn_percent(value: Decimal | float, decimals: int = 2) -> str:
    """50.4337 -> "50,43%"."""
    return f"{format_vn_number(value, decimals)}%"


def format_vn_score(value: Decimal | float) -> str:
    """A score as officials write it: 96 -> "96", 95.5 -> "95,5", 97.05 -> "97,05"."""
    text = f"{Decimal(str(value)).normalize():f}"
    return text.replace(".", ",")

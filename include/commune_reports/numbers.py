"""Vietnamese number rules: "." groups thousands, "," marks decimals ("2.384", "50,43%").

``float("2.384")`` is 2.384, a silent thousand-fold error; these functions never guess.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_GROUPED = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
_PLAIN = re.compile(r"^\d+(,\d+)?$")


class NumberError(ValueError):
    """A cell whose text is not a number by Vietnamese rules (message says why, VI / EN)."""


def parse_vn_number(text: str) -> Decimal:
    """Read a number typed as text by Vietnamese rules; raise NumberError when ambiguous."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1]
    negative = cleaned.startswith("-")
    if negative:
        cleaned = cleaned[1:]
    if _GROUPED.match(cleaned) or _PLAIN.match(cleaned):
        value = Decimal(cleaned.replace(".", "").replace(",", "."))
        return -value if negative else value
    if re.match(r"^\d+\.\d{1,2}$", cleaned) or re.match(r"^\d+\.\d{4,}$", cleaned):
        raise NumberError(
            f"số {text!r} không rõ nghĩa (dấu chấm là phân cách hàng nghìn) / "
            f"ambiguous number {text!r} (a dot groups thousands in Vietnamese)"
        )
    raise NumberError(f"không phải là số: {text!r} / not a number: {text!r}")


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

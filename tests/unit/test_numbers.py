from decimal import Decimal

import pytest

from commune_reports.numbers import (
    NumberError,
    format_vn_number,
    format_vn_percent,
    format_vn_score,
    parse_vn_number,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.384", Decimal(2384)),
        ("16.021", Decimal(16021)),
        ("1.234.567", Decimal(1234567)),
        ("1.234,5", Decimal("1234.5")),
        ("50,43%", Decimal("50.43")),
        ("95,5", Decimal("95.5")),
        ("256", Decimal(256)),
        (" 18.888 ", Decimal(18888)),
    ],
)
def test_parse_vietnamese_numbers(text: str, expected: Decimal) -> None:
    assert parse_vn_number(text) == expected


@pytest.mark.parametrize("text", ["1,234.5", "2.38", "84.4312", "hơn 256", "trên 99%", "abc", ""])
def test_ambiguous_or_qualified_numbers_are_errors(text: str) -> None:
    with pytest.raises(NumberError):
        parse_vn_number(text)


def test_format_as_the_report_writes() -> None:
    assert format_vn_number(2384) == "2.384"
    assert format_vn_number(1234567) == "1.234.567"
    assert format_vn_number(256) == "256"
    assert format_vn_percent(Decimal(2384) * 100 / Decimal(4727)) == "50,43%"
    assert format_vn_percent(Decimal(18888) * 100 / Decimal(27021)) == "69,90%"
    assert format_vn_percent(Decimal("12.345")) == "12,35%"  # half up, not to even
    assert format_vn_score(Decimal("95.5")) == "95,5"
    assert format_vn_score(Decimal("96.0000")) == "96"
    assert format_vn_score(Decimal("97.05")) == "97,05"

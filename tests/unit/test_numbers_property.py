"""Properties of Vietnamese number reading (hypothesis): every figure the report writes reads
back exactly; nothing ambiguous or qualified is ever read as a number."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commune_reports.numbers import NumberError, format_vn_number, parse_vn_number
from commune_reports.parse import read_value

counts = st.integers(min_value=0, max_value=10**12)


@given(counts)
def test_written_counts_read_back(n: int) -> None:
    assert parse_vn_number(format_vn_number(n), count=True) == n
    assert parse_vn_number(str(n), count=True) == n


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_written_decimals_read_back(d: Decimal) -> None:
    assert parse_vn_number(format_vn_number(d, 2)) == d
    assert parse_vn_number(format_vn_number(d, 2) + "%") == d


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=999))
def test_comma_thousands_in_a_count_is_ambiguous(head: int, tail: int) -> None:
    text = f"{head},{tail:03d}"
    with pytest.raises(NumberError) as caught:
        parse_vn_number(text, count=True)
    assert caught.value.rule == "ambiguous_number"


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=99))
def test_dot_decimals_are_ambiguous(whole: int, frac: int) -> None:
    with pytest.raises(NumberError) as caught:
        parse_vn_number(f"{whole}.{frac:02d}")
    assert caught.value.rule == "ambiguous_number"


@given(
    st.sampled_from(["hơn", "trên", "dưới", "khoảng", "gần", ">", "~", "≥"]),
    st.integers(min_value=0, max_value=10**6),
    st.booleans(),
)
def test_qualified_figures_are_errors(word: str, n: int, percent: bool) -> None:
    text = f"{word} {format_vn_number(n)}{'%' if percent else ''}"
    with pytest.raises(NumberError) as caught:
        parse_vn_number(text)
    assert caught.value.rule == "qualified_number"


@given(st.text(min_size=1, max_size=12))
def test_never_a_silent_guess(text: str) -> None:
    """Whatever is typed, the reader gives a number or an error, never both and never an
    exception; and it reads a number only from digits and separators (no word dropped)."""
    _raw, value, error = read_value(text, "integer")
    assert (value is None) or (error is None)
    if value is not None:
        assert all(c.isdecimal() or c.isspace() or c in ".,%-\u2212" for c in text)


def test_numeric_cells_are_taken_as_they_are() -> None:
    assert read_value(2384) == ("2384", Decimal(2384), None)
    assert read_value(95.5)[1] == Decimal("95.5")
    assert read_value(None) == (None, None, None)
    assert read_value("  ") == (None, None, None)
    assert read_value(True)[2].rule == "not_a_number"
    assert read_value("#DIV/0!")[2].rule == "formula_error"

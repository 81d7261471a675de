"""Vietnamese text keys: what people type matches the catalog; what could mean two units is
never guessed. Examples first, then properties (hypothesis)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commune_reports.catalog import load_catalog
from commune_reports.names import load_names
from commune_reports.textnorm import clean, key


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("hoà", "hòa"),
        ("uỷ", "ủy"),
        ("thuỷ", "thủy"),
        ("khoá", "khóa"),
        ("Huyện uỷ", "Huyện ủy"),
        ("ỦY BAN NHÂN DÂN XÃ MỸ HOÀ", "Ủy ban nhân dân xã Mỹ Hòa"),
        ("  Số hồ sơ   tiếp nhận\u00a0trực tuyến³ ", "Số hồ sơ tiếp nhận trực tuyến"),
        ("Số cuộc tuyên truyền,quán triệt", "Số cuộc tuyên truyền, quán triệt"),
        (unicodedata.normalize("NFD", "Xã Mỹ Đông"), "Xã Mỹ Đông"),
    ],
)
def test_typed_text_matches_official(typed: str, official: str) -> None:
    assert key(typed) == key(official)


@pytest.mark.parametrize(("a", "b"), [("quý", "qúy"), ("hoàng", "hòang"), ("Mỹ Quý", "Mỹ Quí")])
def test_different_words_stay_different(a: str, b: str) -> None:
    # "quý" is written one way; "hoàng" is a closed syllable; i/y variants are aliases, not keys
    assert key(a) != key(b)


def test_unit_names_and_aliases() -> None:
    names = load_names()
    assert names.units_named("ỦY BAN NHÂN DÂN XÃ MỸ HOÀ") == {"30052"}
    assert names.units_named("UBND xã Mỹ Quí") == {"30055"}  # catalog alias
    assert names.units_named("ỦY BAN NHÂN DÂN XÃ MỸ AN") == {"30064"}
    assert names.units_named("ỦY BAN NHÂN DÂN THỊ TRẤN MỸ AN") == {"30037"}
    # "Mỹ An" alone is the town or the commune: both are returned, the reader rejects it
    assert names.units_named("UBND Mỹ An") == {"30037", "30064"}
    assert names.units_named("BÁO CÁO KẾT QUẢ") == frozenset()


def test_every_catalog_label_matches_its_metric() -> None:
    names = load_names()
    for metric in load_catalog().metrics:
        assert names.metric_for_label(metric.label.upper()) == metric.code
        assert names.metric_for_label(unicodedata.normalize("NFD", metric.label)) == metric.code


vietnamese = st.text(
    alphabet=st.sampled_from(
        list(
            "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệ"
            "ìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ ,.()"
        )
    ),
    max_size=40,
)


@given(vietnamese)
def test_key_is_idempotent_and_form_blind(text: str) -> None:
    k = key(text)
    assert key(k) == k
    assert key(unicodedata.normalize("NFD", text)) == k
    assert key(text.upper()) == key(text.lower()) == k
    assert key(f"  {text} ¹") == k
    assert key(text.replace(" ", "  \t")) == k


@given(vietnamese)
def test_clean_is_readable_nfc(text: str) -> None:
    cleaned = clean(text)
    assert cleaned == unicodedata.normalize("NFC", cleaned)
    assert "  " not in cleaned and cleaned == cleaned.strip()


@given(st.sampled_from([m.label for m in load_catalog().metrics]), st.data())
def test_label_matching_survives_retyping(label: str, data: st.DataObject) -> None:
    """Any mix of case, NFD, extra spaces and a footnote marker still finds the metric."""
    names = load_names()
    typed = label
    if data.draw(st.booleans()):
        typed = typed.upper()
    if data.draw(st.booleans()):
        typed = unicodedata.normalize("NFD", typed)
    if data.draw(st.booleans()):
        typed = typed.replace(" ", data.draw(st.sampled_from(["  ", " \u00a0", "\t"])))
    if data.draw(st.booleans()):
        typed += data.draw(st.sampled_from(["¹", "²", "³", "*", " (*)"]))
    assert names.metric_for_label(typed) == names.metric_for_label(label) is not None

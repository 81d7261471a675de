"""Legacy 8-bit fonts: every catalog label and unit name typed in TCVN3 or VNI converts back
exactly; Unicode text is never taken for one; a mix is not converted."""

from __future__ import annotations

import unicodedata

import pytest

from commune_reports import legacy
from commune_reports.catalog import load_catalog

CATALOG = load_catalog()
TEXTS = [m.label for m in CATALOG.metrics] + [u.name for u in CATALOG.units]
TO_TCVN3 = {v: k for k, v in legacy.TCVN3_TO_UNICODE.items()}
TO_VNI: dict[str, str] = {}
for _k, _v in legacy.VNI_TO_UNICODE.items():
    TO_VNI.setdefault(_v, _k)


def tcvn3(text: str) -> str:
    return "".join(TO_TCVN3.get(c, c) for c in text.lower())


def vni(text: str) -> str:
    return "".join(TO_VNI.get(c, c) for c in text)


@pytest.mark.parametrize("text", TEXTS)
def test_unicode_is_never_suspect(text: str) -> None:
    assert not legacy.is_suspect(text)
    assert not legacy.is_suspect(unicodedata.normalize("NFD", text))


@pytest.mark.parametrize("text", [t for t in TEXTS if not t.isascii()])
def test_tcvn3_and_vni_convert_back(text: str) -> None:
    typed = tcvn3(text)
    if legacy.is_suspect(typed):
        assert legacy.read_cell(typed).candidates.get(legacy.TCVN3) == text.lower()
    typed = vni(text)
    if legacy.is_suspect(typed):
        assert legacy.read_cell(typed).candidates.get(legacy.VNI) == text


def test_report_examples() -> None:
    assert legacy.from_tcvn3("TrËt tù ch÷ c¸i") == "Trật tự chữ cái"
    assert legacy.from_vni("Tieáng Vieät") == "Tiếng Việt"


def test_a_sheet_converts_only_when_one_table_explains_everything() -> None:
    labels = [m.label for m in CATALOG.metrics[:6]]
    certain = legacy.decide([tcvn3(t) for t in labels])
    assert certain.encoding == legacy.TCVN3
    mixed = legacy.decide([tcvn3(labels[0]), vni(labels[1])])
    assert mixed.encoding is None and mixed.unexplained
